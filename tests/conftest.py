"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.corpus import CORPUS_ROOT

# CI runs the same examples every time (a run that lands must not depend on luck); set
# HYPOTHESIS_PROFILE=explore locally to draw fresh examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    """The read-only compatibility corpus; the suite needs it (CI has it)."""
    assert CORPUS_ROOT.is_dir(), f"compatibility corpus not found at {CORPUS_ROOT}"
    return CORPUS_ROOT
