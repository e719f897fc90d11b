"""The ``threadlog`` command as a real process against one Codex home, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def threadlog_on(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m threadlog ARGS --home HOME`` from the repository; its captured output."""
    return subprocess.run(
        [sys.executable, "-m", "threadlog", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
