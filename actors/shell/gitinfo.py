"""Git facts of a working directory, collected when a thread's file is materialized."""

from __future__ import annotations

import shutil
import subprocess

import trio

from threadlog.events.rollout import GitInfo

_TIMEOUT = 2.0


async def _git(cwd: str, *args: str) -> str | None:
    try:
        with trio.move_on_after(_TIMEOUT):
            result = await trio.run_process(
                ["git", *args], cwd=cwd, capture_stdout=True, capture_stderr=True, check=False
            )
            if result.returncode == 0:
                return result.stdout.decode("utf-8", "replace").strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
    return None


async def collect_git_info(cwd: str) -> GitInfo | None:
    """Commit, branch and origin URL of ``cwd``'s repository; None outside a repository."""
    if not cwd or shutil.which("git") is None:
        return None
    sha = await _git(cwd, "rev-parse", "HEAD")
    if sha is None:
        return None
    branch = await _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    origin = await _git(cwd, "remote", "get-url", "origin")
    return GitInfo(
        commit_hash=sha, branch=None if branch == "HEAD" else branch, repository_url=origin
    )
