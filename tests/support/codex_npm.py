"""The real Codex CLI from npm, installed once into a cache for the tests that need it.

Installed with ``npm install --prefix`` into ``$XDG_CACHE_HOME/threadlog-tests`` (``~/.cache``
by default), so a second run finds it. A missing npm or registry is a test failure, never a
skip: these tests are the only check against the real client.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CODEX_VERSION = "0.171.0"


def codex_binary(version: str = CODEX_VERSION) -> Path:
    """The ``codex`` launcher of ``@openai/codex@version`` (installing it when missing)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "threadlog-tests"
    prefix = cache / f"npm-codex-{version}"
    binary = prefix / "node_modules" / ".bin" / "codex"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"@openai/codex@{version}",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return binary
