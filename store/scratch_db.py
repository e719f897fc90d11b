"""Replay's scratch databases: a file beside the live index, named by the process that
builds it, and removed when that process is gone.

A replay killed midway (``kill -9``, a power cut) cannot remove its own scratch file, and
the next replay runs under another pid: without this, such files would pile up beside the
index, each as big as the index. Another replay still running keeps its file: a file is
removed only when no process of its pid is alive. (A pid reused since is taken as alive:
the file stays, which loses nothing.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

_SUFFIXES: Final = ("", "-wal", "-shm", "-journal")


def scratch_path(db_path: Path, pid: int | None = None) -> Path:
    """The scratch file for ``db_path`` of process ``pid`` (this one's by default)."""
    return db_path.with_name(f"{db_path.name}.replay-{os.getpid() if pid is None else pid}")


def remove_db_files(path: Path) -> None:
    """Remove a database file and its WAL, shared-memory and journal files."""
    for suffix in _SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def remove_stale_scratches(db_path: Path) -> list[Path]:
    """Remove the scratch files of replays whose process is gone; returns them."""
    files = "|".join(re.escape(suffix) for suffix in _SUFFIXES)
    pattern = re.compile(re.escape(db_path.name) + rf"\.replay-([0-9]{{1,10}})(?:{files})")
    try:
        names = os.listdir(db_path.parent)
    except FileNotFoundError:
        return []
    stale = {
        int(match.group(1)) for name in names if (match := pattern.fullmatch(name)) is not None
    }
    removed = []
    for pid in sorted(stale):
        if not _alive(pid):
            path = scratch_path(db_path, pid)
            remove_db_files(path)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a number no pid can be: leave it
    return True
