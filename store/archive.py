"""Archive and unarchive: atomic renames between ``sessions/`` and ``archived_sessions/``.

Archive moves a live rollout to ``archived_sessions/<same name>`` (flat). Unarchive moves it
back under the ``YYYY/MM/DD`` folders rebuilt from the first ten characters of its name and
sets its mtime to now, so it jumps to the top of updated_at listings (Codex section 7). Both
refuse a path outside the directory it must come from and a name that is not a rollout name,
with Codex's wording. Both renames stay on one filesystem and are made durable by fsyncing
the directories involved.
"""

from __future__ import annotations

import os
from pathlib import Path

from threadlog.store.appender import fsync_dir
from threadlog.store.layout import (
    ARCHIVED_DIR,
    SESSIONS_DIR,
    date_parts_of,
    ensure_inside,
    make_private_dirs,
    parse_rollout_file_name,
)
from threadlog.store.ports import ArchiveError


def archive_rollout(home: Path, path: Path) -> Path:
    """Move a live rollout into ``archived_sessions/``; returns the new path."""
    sessions = home / SESSIONS_DIR
    try:
        ensure_inside(sessions, path)
    except ValueError:
        raise ArchiveError(f"rollout path `{path}` must be in sessions directory") from None
    if parse_rollout_file_name(path.name) is None:
        raise ArchiveError(f"rollout path `{path}` is not a rollout file")
    archived = home / ARCHIVED_DIR
    make_private_dirs(archived)
    target = archived / path.name
    if target.exists():
        raise ArchiveError(f"archived rollout `{target}` already exists")
    os.rename(path, target)
    fsync_dir(archived)
    fsync_dir(path.parent)
    return target


def unarchive_rollout(home: Path, path: Path) -> Path:
    """Move an archived rollout back under its date folders and touch its mtime."""
    archived = home / ARCHIVED_DIR
    try:
        ensure_inside(archived, path)
    except ValueError:
        raise ArchiveError(f"rollout path `{path}` must be in archived directory") from None
    if path.parent.resolve() != archived.resolve():
        raise ArchiveError(f"rollout path `{path}` must be in archived directory")
    parts = date_parts_of(path.name)
    if parts is None:
        raise ArchiveError(f"rollout path `{path}` missing filename timestamp")
    day = home / SESSIONS_DIR / parts[0] / parts[1] / parts[2]
    make_private_dirs(day)
    target = day / path.name
    if target.exists():
        raise ArchiveError(f"rollout `{target}` already exists")
    os.rename(path, target)
    os.utime(target, None)
    fsync_dir(day)
    fsync_dir(archived)
    return target
