"""Where rollout files live in a Codex home, and how their names encode (time, thread id).

Live rollouts: ``sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`` (the date and
time parts in local time); archived ones: ``archived_sessions/<same name>`` (flat). When a
name is parsed back, its time is read as UTC, as Codex does. Files whose names do not match
are ignored by every scanner here.

Every path built from outside input goes through a validated thread id
(``events.ids.parse_thread_id``) and is checked to stay inside its root after resolving
symlinks. New directories are 0700 and new files 0600: rollouts hold users' code and
secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec

from threadlog.events.ids import parse_thread_id, uuid7_timestamp_ms

SESSIONS_DIR: Final = "sessions"
ARCHIVED_DIR: Final = "archived_sessions"
SESSION_INDEX_FILE: Final = "session_index.jsonl"
STATE_DB_FILE: Final = "threadlog.sqlite"

_HEX = "[0-9a-fA-F]"
_UUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
# A thread's later files (0.169+ ``thread/revert`` starts a new one) add ``_<uuid>``.
_NAME = re.compile(
    rf"rollout-(\d{{4}})-(\d{{2}})-(\d{{2}})T(\d{{2}})-(\d{{2}})-(\d{{2}})-({_UUID})"
    rf"(?:_({_UUID}))?\.jsonl"
)


class PathEscapeError(ValueError):
    """A path that would leave the directory it must stay in."""


class RolloutName(msgspec.Struct, frozen=True):
    """What a rollout file name says: its (UTC-read) timestamp, its thread id and, for a
    thread's later file, the uuid that tells it from the thread's other files."""

    timestamp: datetime
    thread_id: str
    segment: str | None = None


def rollout_file_name(created_local: datetime, thread_id: str, segment: str | None = None) -> str:
    """``rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`` for a local creation time; a thread's
    later file (``segment``, a uuid) is ``...-<uuid>_<segment>.jsonl``."""
    tid = parse_thread_id(thread_id)
    suffix = f"_{parse_thread_id(segment)}" if segment is not None else ""
    return f"rollout-{created_local.strftime('%Y-%m-%dT%H-%M-%S')}-{tid}{suffix}.jsonl"


def new_rollout_path(
    home: Path, thread_id: str, created_local: datetime, segment: str | None = None
) -> Path:
    """The live path of a new rollout (nothing is created on disk)."""
    name = rollout_file_name(created_local, thread_id, segment)
    day = created_local.strftime("%Y/%m/%d")
    return ensure_inside(home / SESSIONS_DIR, home / SESSIONS_DIR / day / name)


def parse_rollout_file_name(name: str) -> RolloutName | None:
    """Parse a rollout file name; None for any name that does not match exactly."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    try:
        # One C call for the usual name (a walk parses every file's, a fifth of its time);
        # the groups' own integers for what it refuses: digits other than ASCII, or no date.
        stamp = datetime.fromisoformat(
            f"{name[8:18]}T{name[19:21]}:{name[22:24]}:{name[25:27]}+00:00"
        )
    except ValueError:
        y, mo, d, h, mi, sec = (int(p) for p in match.groups()[:6])
        try:
            stamp = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
        except ValueError:
            return None
    segment = match.group(8)
    return RolloutName(
        timestamp=stamp,
        thread_id=match.group(7).lower(),
        segment=segment.lower() if segment else None,
    )


def date_parts_of(name: str) -> tuple[str, str, str] | None:
    """``(YYYY, MM, DD)`` from a rollout name's first ten characters after ``rollout-``."""
    parsed = parse_rollout_file_name(name)
    if parsed is None:
        return None
    return name[8:12], name[13:15], name[16:18]


def ensure_inside(root: Path, path: Path) -> Path:
    """Return ``path`` if it resolves (symlinks included) to somewhere under ``root``."""
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and not real.is_relative_to(real_root):
        raise PathEscapeError(f"path {path} is outside {root}")
    return path


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700 (whatever the umask)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        directory.chmod(0o700)


def walk_file_names(root: Path, *, recurse: bool = True) -> Iterator[tuple[str, str]]:
    """``(directory, name)`` of every regular file under ``root``, in no order (no
    symlinked directory followed; ``recurse=False``: ``root``'s own files only).

    A directory is read as it is walked, never held whole: a day folder of 100,000
    rollouts must not cost 100,000 directory entries of memory at once."""
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            scan = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False):
                    if recurse:
                        stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield directory, entry.name


def iter_rollout_files(home: Path, *, archived: bool) -> Iterator[Path]:
    """Every rollout file with a well-formed name, live (recursive) or archived (flat)."""
    if archived:
        root = home / ARCHIVED_DIR
        try:
            entries = os.scandir(root)
        except (FileNotFoundError, NotADirectoryError):
            return
        with entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and parse_rollout_file_name(entry.name):
                    yield Path(entry.path)
        return
    for directory, name in walk_file_names(home / SESSIONS_DIR):
        if parse_rollout_file_name(name) is not None:
            yield Path(directory, name)


def _first_day(thread_id: str) -> str | None:
    """``YYYY/MM/DD`` of the day before a UUIDv7 id was created on; None for other ids.

    A thread's first file is in its creation day's folder (+-1 day for time zones); a
    later file (a revert) is in the folder of the day it was made, so every folder since
    creation may hold one. Folders are named ``YYYY/MM/DD``, so they compare as text.
    """
    try:
        ms = uuid7_timestamp_ms(thread_id)
        moment = datetime.fromtimestamp(ms / 1000) - timedelta(days=1)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y/%m/%d")


def _is_day_since(year: str, month: str, day: str, first: str) -> bool:
    """Whether folder ``year/month/day`` is one ``_day_dirs_since`` looks in."""
    return year >= first[:4] and f"{year}/{month}" >= first[:7] and f"{year}/{month}/{day}" >= first


def _day_dirs_since(home: Path, thread_id: str) -> list[Path] | None:
    """The date folders a thread's files may be in (see ``_first_day``); None for ids
    that are not UUIDv7s."""
    first = _first_day(thread_id)
    if first is None:
        return None
    root = home / SESSIONS_DIR
    return [
        root / year / month / day
        for year in _sorted_subdirs(root)
        if year >= first[:4]
        for month in _sorted_subdirs(root / year)
        if f"{year}/{month}" >= first[:7]
        for day in _sorted_subdirs(root / year / month)
        if _is_day_since(year, month, day, first)
    ]


def _sorted_subdirs(directory: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(directory) if e.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def file_order(path: Path) -> tuple[datetime, str]:
    """How a thread's files are ordered: by the time in their names, then by name."""
    parsed = parse_rollout_file_name(path.name)
    return (parsed.timestamp if parsed else datetime.min.replace(tzinfo=UTC), path.name)


def _is_file_of(name: str, thread_id: str) -> bool:
    parsed = parse_rollout_file_name(name)
    return parsed is not None and parsed.thread_id == thread_id


def rollout_paths_of(home: Path, thread_id: str, *, archived: bool | None = None) -> list[Path]:
    """Every rollout file of a thread, oldest first (one, unless the thread was reverted).

    ``archived=None`` gives the live files when there are any, else the archived ones.
    """
    tid = parse_thread_id(thread_id)
    found: list[Path] = []
    if archived is not True and _walks.get() is not None:
        found = _live_files_from_the_walk(home, tid)
    elif archived is not True:
        days = _day_dirs_since(home, tid)
        for day in days or ():
            try:
                found += [
                    Path(e.path)
                    for e in os.scandir(day)
                    if tid in e.name.lower() and _is_file_of(e.name, tid) and e.is_file()
                ]
            except (FileNotFoundError, NotADirectoryError):
                continue
        if not found:
            # Not a UUIDv7, or a file outside its date folders: look everywhere.
            found = _files_of(home, tid, archived=False)
    if archived is True or (archived is None and not found):
        found = _files_of(home, tid, archived=True)
    return sorted(set(found), key=file_order)


_walks: ContextVar[dict[tuple[str, bool], dict[str, list[str]]] | None] = ContextVar(
    "threadlog_walks", default=None
)


_T = TypeVar("_T")
_memos: ContextVar[dict[tuple[str, ...], Any] | None] = ContextVar(
    "threadlog_walk_memos", default=None
)


def within_one_walk(key: tuple[str, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``, once per ``key`` inside ``one_walk_per_home`` (its answer is part of
    the snapshot), afresh outside."""
    memos = _memos.get()
    if memos is None:
        return compute()
    if key not in memos:
        memos[key] = compute()
    return memos[key]  # type: ignore[no-any-return]


@contextmanager
def one_walk_per_home() -> Iterator[None]:
    """Within this block a whole-home lookup walks the home once and reuses that walk.

    A lookup that misses the date folders walks every file; a backfill meets many such
    lookups (forks of threads that are not there), which made it quadratic in the number
    of files. The backfill reads a snapshot anyway, so it runs in this block; everything
    else walks afresh and sees the files as they are now.
    """
    token = _walks.set({})
    memo_token = _memos.set({})
    try:
        yield
    finally:
        _memos.reset(memo_token)
        _walks.reset(token)


def _files_by_thread(home: Path, *, archived: bool) -> dict[str, list[str]]:
    """Every rollout of the home by thread id, as paths that look like rollout names
    (one walk per home inside ``one_walk_per_home``; ``_files_of`` checks them whole).

    Only the name pattern is matched here, never a date parsed or a ``Path`` made: a
    lookup is for a few ids, the walk is of every file."""
    cache = _walks.get()
    key = (str(home), archived)
    if cache is not None and key in cache:
        return cache[key]
    found: dict[str, list[str]] = {}
    root = home / (ARCHIVED_DIR if archived else SESSIONS_DIR)
    fullmatch = _NAME.fullmatch
    for directory, name in walk_file_names(root, recurse=not archived):
        match = fullmatch(name)
        if match is not None:
            found.setdefault(match.group(7).lower(), []).append(os.path.join(directory, name))
    if cache is not None:
        cache[key] = found
    return found


def _files_of(home: Path, thread_id: str, *, archived: bool) -> list[Path]:
    """The rollout files of ``thread_id`` anywhere in the live tree or the archive."""
    return [
        Path(path)
        for path in _files_by_thread(home, archived=archived).get(thread_id, ())
        if parse_rollout_file_name(os.path.basename(path)) is not None
    ]


def _live_files_from_the_walk(home: Path, tid: str) -> list[Path]:
    """What the date folders' scan and its fallback find, read off the one walk of the
    home (a backfill's fork lookups scanned every folder since the parent's day, each)."""
    everything = _files_of(home, tid, archived=False)
    first = _first_day(tid)
    if first is None:
        return everything
    root = str(home / SESSIONS_DIR)
    dated = []
    for path in everything:
        parts = os.path.relpath(path, root).split(os.sep)
        if len(parts) == 4 and _is_day_since(parts[0], parts[1], parts[2], first):
            dated.append(path)
    return dated or everything


def find_rollout_path(home: Path, thread_id: str, *, archived: bool | None = None) -> Path | None:
    """The rollout file a thread is read from (its newest), by id, without the database.

    ``archived=None`` looks in live sessions first, then in the archive.
    """
    paths = rollout_paths_of(home, thread_id, archived=archived)
    return paths[-1] if paths else None


def watermark(home: Path, path: Path) -> str:
    """A file's backfill watermark: its path relative to the home, ``/``-separated."""
    return path.relative_to(home).as_posix()
