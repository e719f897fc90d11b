"""Shared fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import CORPUS_ROOT


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    """The read-only compatibility corpus; the suite needs it (CI has it)."""
    assert CORPUS_ROOT.is_dir(), f"compatibility corpus not found at {CORPUS_ROOT}"
    return CORPUS_ROOT
