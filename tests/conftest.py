"""Shared fixtures and the markers of the suite's kinds.

The suite is grouped by kind: ``unit/`` (pure folds, codecs, single stores), ``contracts/``
(every storage backend against the port contracts), ``corpus/`` (answers equal to the
real Codex's), ``e2e/`` (the runtime, ``serve`` and the CLI as real processes), and
``support/`` (helpers and child processes, no tests). Markers let a run pick a kind:
``-m corpus``, ``-m property`` (hypothesis), ``-m "not slow"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.corpus import CORPUS_ROOT

# CI runs the same examples every time (a run that lands must not depend on luck); set
# HYPOTHESIS_PROFILE=explore locally to draw fresh examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by kind: its folder, and ``property`` for hypothesis tests."""
    for item in items:
        kind = Path(str(item.fspath)).resolve().relative_to(_TESTS).parts[0]
        if kind in ("unit", "contracts", "corpus", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))
        function = getattr(item, "function", None)
        if getattr(function, "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    """The read-only compatibility corpus; the suite needs it (CI has it)."""
    assert CORPUS_ROOT.is_dir(), f"compatibility corpus not found at {CORPUS_ROOT}"
    return CORPUS_ROOT


@pytest.fixture(scope="session")
def postgres_dsn() -> object:
    """A running PostgreSQL (a throwaway cluster, or ``THREADLOG_TEST_POSTGRES``)."""
    from tests.support.postgres import postgres_server

    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def nats_server_info() -> object:
    """``(url, monitor)`` of a running nats-server with JetStream (a throwaway one, or
    ``THREADLOG_TEST_NATS``)."""
    from tests.support.nats import nats_server

    with nats_server() as info:
        yield info


@pytest.fixture(scope="session")
def nats_link(nats_server_info: tuple[str, str]) -> object:
    """One connection to the session's nats-server, for stores made by many examples."""
    from threadlog.store.nats_link import NatsLink

    link = NatsLink((nats_server_info[0],))
    yield link
    link.close()
