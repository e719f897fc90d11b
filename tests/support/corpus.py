"""Where the compatibility corpus lives, and copies of real Codex homes for tests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_ROOT = (REPO_ROOT / ".." / "shared" / "corpus").resolve()
CODEX_REAL = CORPUS_ROOT / "codex-real"
CODEX_ROLLOUTS = CORPUS_ROOT / "codex-rollouts"
SEED_VERSIONS = ("0.101.0", "0.105.0")
CURRENT_VERSIONS = ("0.171.0",)
CODEX_REAL_VERSIONS = SEED_VERSIONS + CURRENT_VERSIONS


def corpus_rollout_files() -> list[Path]:
    """Every ``rollout-*.jsonl`` file in the corpus (real homes and public rollouts)."""
    return sorted(CORPUS_ROOT.rglob("rollout-*.jsonl"))


def copy_codex_home(version: str, dest: Path) -> Path:
    """Copy a real Codex home of ``version`` to ``dest`` and restore its file mtimes.

    git does not keep mtimes and ``updatedAt`` comes from them, so ``mtimes.json`` (ns,
    relative to ``home/``) is applied after the copy. The corpus keeps no ``config.toml``;
    the runs configured the scripted model server as provider ``mock`` (every thread names
    it, and the real server listed them by default), so the copy says so again.
    """
    src = CODEX_REAL / version / "home"
    shutil.copytree(src, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    (dest / "config.toml").write_text('model_provider = "mock"\n')
    mtimes = json.loads((CODEX_REAL / version / "mtimes.json").read_text())
    for rel, mtime_ns in mtimes.items():
        target = dest / rel
        if target.exists():
            os.utime(target, ns=(mtime_ns, mtime_ns))
    return dest


def rewrite_home_prefix(value: object, version: str, home: Path) -> object:
    """Replace the recorded home path prefix of a golden answer with ``home``."""
    prefix = f"/home/user/codex-real/{version}/home"
    if isinstance(value, str):
        return value.replace(prefix, str(home))
    if isinstance(value, list):
        return [rewrite_home_prefix(v, version, home) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_home_prefix(v, version, home) for k, v in value.items()}
    return value
