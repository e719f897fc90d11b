"""The log port on rollout files: ``FileLogStore`` and its ``FileLogWriter``.

A thread's log is its rollout file under ``sessions/`` (or ``archived_sessions/``), its
location the file's path, its name in ``session_index.jsonl``. The writer is the group-
committing ``RolloutAppender`` with the position check of the port added; a position's
identity is the file's inode, which an archive move (a rename) keeps and a replacement
does not. Blocking I/O: callers in trio run these in worker threads.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from threadlog.events.ids import new_id, parse_thread_id
from threadlog.events.rows import LogPosition
from threadlog.store import names
from threadlog.store.appender import RolloutAppender, fsync_dir
from threadlog.store.archive import archive_rollout, unarchive_rollout
from threadlog.store.codex_locks import ThreadLock, name_index_lock
from threadlog.store.layout import (
    ARCHIVED_DIR,
    RolloutName,
    ensure_inside,
    find_rollout_path,
    new_rollout_path,
    parse_rollout_file_name,
    rollout_paths_of,
    watermark,
    within_one_walk,
)
from threadlog.store.ordered_walk import (
    count_rollout_files,
    rollout_files_in_order,
    threads_with_several_files,
)
from threadlog.store.ports import (
    Durability,
    LogChunk,
    LogRef,
    LogStat,
    PositionConflictError,
    WriterLockedError,
)
from threadlog.store.reader import ReadLine, ReadReport, read_rollout

_NEWLINE: Final = b"\n"


def inode_identity(st_ino: int) -> str:
    """The identity of a file's positions: its inode."""
    return f"inode:{st_ino}"


class FileLogWriter:
    """``LogWriter`` over one rollout file's appender."""

    def __init__(
        self, appender: RolloutAppender, identity: str, thread_lock: ThreadLock | None = None
    ) -> None:
        self.appender = appender
        self._identity = identity
        self._thread_lock = thread_lock

    @property
    def position(self) -> LogPosition:
        """The end of the file, buffered bytes included."""
        return LogPosition(self.appender.offset, self._identity)

    def append(
        self, lines: Sequence[bytes] | bytes, *, expected: LogPosition | None = None
    ) -> LogPosition:
        """Append whole lines at ``expected``; returns the new end (durable in fsync mode)."""
        if expected is not None and expected != self.position:
            raise PositionConflictError(
                f"{self.appender.path} ends at {self.position.offset}, "
                f"not at the expected {expected.offset}"
            )
        return LogPosition(self.appender.append(lines), self._identity)

    def flush(self) -> None:
        """Hand buffered bytes to the OS (and to disk in fsync mode)."""
        self.appender.flush()

    def close(self) -> None:
        """Flush and release the file lock and Codex's thread lock."""
        try:
            self.appender.close()
        finally:
            if self._thread_lock is not None:
                self._thread_lock.release()

    def __enter__(self) -> FileLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileLogStore:
    """``LogStore`` over the rollout files and the name index of one Codex home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._real_home: str | None = None

    def _existing_file_inside(self, location: str, real_dirs: set[str] | None = None) -> str | None:
        """``location``'s path below the home (``/``-separated) if it is a regular file
        there with no symlink on the way; else None.

        As exact as ``ensure_inside`` (which resolves every component from ``/``) but it
        walks only the components below the home, whose real path is resolved once: a
        listing checks every row it returns, and the full resolution was most of a page.
        ``real_dirs``: directories already found real (no symlink) by this caller, so the
        rows of one page, which share a few day folders, stat each folder once.
        """
        if self._real_home is None:
            self._real_home = str(self.home.resolve())
        norm = os.path.normpath(location)
        for base in (self._real_home, os.path.normpath(str(self.home))):
            if norm.startswith(base + os.sep):
                relative = norm[len(base) + 1 :]
                break
        else:
            return None
        current, mode = self._real_home, 0
        parts = relative.split(os.sep)
        last = len(parts) - 1
        for n, part in enumerate(parts):
            current = os.path.join(current, part)
            if n < last and real_dirs is not None and current in real_dirs:
                continue
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return None
            if n < last and real_dirs is not None and stat.S_ISDIR(mode):
                real_dirs.add(current)
            if stat.S_ISLNK(mode):  # rare: the resolving check decides
                path = Path(location)
                try:
                    ensure_inside(self.home, path)
                except ValueError:
                    return None
                return watermark(self.home, path) if path.is_file() else None
        return "/".join(parts) if stat.S_ISREG(mode) else None

    def ref_of(self, path: Path, key: str | None = None) -> LogRef:
        """The ref of a rollout file (its name gives the thread id and creation time);
        ``key``: its watermark, when the caller has it already."""
        parsed = parse_rollout_file_name(path.name)
        if parsed is None:
            raise ValueError(f"not a rollout file name: {path.name}")
        key = key if key is not None else watermark(self.home, path)
        return self._ref(path, parsed, key, path.parent.name == ARCHIVED_DIR)

    @staticmethod
    def _ref(path: Path | str, parsed: RolloutName, key: str, archived: bool) -> LogRef:
        return LogRef(
            thread_id=parsed.thread_id,
            location=str(path),
            archived=archived,
            key=key,
            created_ms=int(parsed.timestamp.timestamp() * 1000),
        )

    def locate(self, thread_id: str, *, archived: bool | None = None) -> LogRef | None:
        """The rollout file of a thread, by id (no database needed)."""
        path = find_rollout_path(self.home, parse_thread_id(thread_id), archived=archived)
        return None if path is None else self.ref_of(path)

    def allocate(self, thread_id: str, created: datetime, *, segment: bool = False) -> LogRef:
        """The live path a new file of the thread will have (``created`` in local time); a
        ``segment`` is a later file of an existing thread, named as 0.171's revert names it."""
        # a UUIDv7: two later files made in one second still sort in the order they were made
        later = new_id() if segment else None
        return self.ref_of(new_rollout_path(self.home, parse_thread_id(thread_id), created, later))

    def logs(self, *, archived: bool, after: str | None = None) -> Iterator[LogRef]:
        """Each thread's newest rollout file, live or archived (one per thread), in key
        order; only those after ``after``. Memory does not grow with the home."""
        several = self._several(archived)
        for key, path, parsed in rollout_files_in_order(self.home, archived=archived, after=after):
            newest = several.get(parsed.thread_id)
            if newest is None or newest == path:
                yield self._ref(path, parsed, key, archived)

    def count_logs(self, *, archived: bool, after: str | None = None) -> int:
        """How many logs ``logs`` gives, counted in one walk of the files in no order."""
        several = self._several(archived)
        return count_rollout_files(self.home, archived=archived, after=after, newest=several)

    def _several(self, archived: bool) -> dict[str, str]:
        """The newest file of each thread with several. A backfill counts its logs and then
        lists them inside one walk of the home: they are found once for both."""
        return within_one_walk(
            ("several files", str(self.home), str(archived)),
            lambda: {
                tid: str(path)
                for tid, path in threads_with_several_files(self.home, archived=archived).items()
            },
        )

    def segments(self, thread_id: str) -> list[LogRef]:
        """All rollout files of a thread, oldest first, where its newest one is."""
        head = self.locate(thread_id)
        if head is None:
            return []
        paths = rollout_paths_of(self.home, head.thread_id, archived=head.archived)
        return [self.ref_of(path) for path in paths]

    def open_writer(self, ref: LogRef, *, durability: Durability = "fsync") -> FileLogWriter:
        """The file's one writer (healing a torn tail, creating the file if needed).

        It holds Codex's writer lock on the thread too: a thread open in Codex is refused
        (``ThreadHeldError``), and Codex cannot open one while we write it.
        """
        thread_lock = ThreadLock(self.home, ref.thread_id)
        try:
            appender = RolloutAppender(Path(ref.location), durability=durability)
        except BaseException:
            thread_lock.release()
            raise
        return FileLogWriter(appender, inode_identity(appender.inode), thread_lock)

    def read_lines(self, ref: LogRef, *, report: ReadReport | None = None) -> Iterator[ReadLine]:
        """Decoded lines of the file; torn tails and bad lines are reported, not raised."""
        return read_rollout(Path(ref.location), report=report)

    def read_bytes(self, ref: LogRef, start: LogPosition | None = None) -> LogChunk:
        """The file's bytes after ``start`` when it is a position in this very file."""
        # os-level calls, not ``open``: a backfill reads every file of the home once, and
        # a buffered file object cost it more than reading the bytes did.
        fd = os.open(ref.location, os.O_RDONLY | os.O_CLOEXEC)
        try:
            stat = os.fstat(fd)
            identity = inode_identity(stat.st_ino)
            offset = 0
            if start is not None and _resumable(fd, start, identity, stat.st_size):
                offset = start.offset
            data = _read_from(fd, offset, stat.st_size - offset)
        finally:
            os.close(fd)
        return LogChunk(
            data=data, offset=offset, identity=identity, modified_ms=stat.st_mtime_ns // 10**6
        )

    def delete(self, thread_id: str) -> int:
        """Unlink every rollout file of the thread, live and archived, under its writer lock
        (so a thread Codex or a loaded actor has open is refused, whole)."""
        tid = parse_thread_id(thread_id)
        lock = ThreadLock(self.home, tid)
        try:
            paths = rollout_paths_of(self.home, tid, archived=False)
            paths += rollout_paths_of(self.home, tid, archived=True)
            for path in paths:
                path.unlink(missing_ok=True)
            for directory in {path.parent for path in paths}:
                fsync_dir(directory)
            return len(paths)
        finally:
            lock.release()

    def discard_empty(self, ref: LogRef) -> bool:
        """Unlink an empty rollout file, under the thread's writer lock."""
        try:
            lock = ThreadLock(self.home, ref.thread_id)
        except WriterLockedError:
            return False
        try:
            path = Path(ref.location)
            if path.stat().st_size != 0:
                return False
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        finally:
            lock.release()

    def read_range(self, ref: LogRef, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file, one positioned read."""
        if start < 0 or end < start:
            raise ValueError(f"bad byte range [{start}, {end})")
        with open(ref.location, "rb") as stream:
            return os.pread(stream.fileno(), end - start, start)

    def stat(self, ref: LogRef) -> LogStat:
        """The file's size, inode and mtime."""
        st = os.stat(ref.location)
        return LogStat(st.st_size, inode_identity(st.st_ino), st.st_mtime_ns // 10**6)

    def touch(self, ref: LogRef, modified_ms: int) -> None:
        """Set the file's mtime (a copy carries its source's over)."""
        ns = modified_ms * 10**6
        os.utime(ref.location, ns=(ns, ns))

    def present(self, locations: Iterable[str]) -> set[str]:
        """Which locations hold a rollout file inside this home (no ref is built)."""
        real_dirs: set[str] = set()
        return {
            location
            for location in locations
            if parse_rollout_file_name(location.rpartition("/")[2]) is not None
            and self._existing_file_inside(location, real_dirs) is not None
        }

    def ref_at(self, location: str) -> LogRef | None:
        """The rollout file at ``location`` if it still exists inside this home."""
        path = Path(location)
        if parse_rollout_file_name(path.name) is None:
            return None
        key = self._existing_file_inside(location)
        return None if key is None else self.ref_of(path, key)

    def archive(self, ref: LogRef) -> LogRef:
        """Move a live rollout (and the thread's older files) into ``archived_sessions/``,
        holding the thread's writer lock (a thread open in Codex is not moved)."""
        lock = ThreadLock(self.home, ref.thread_id)
        try:
            for older in rollout_paths_of(self.home, ref.thread_id, archived=False):
                if str(older) != ref.location:
                    archive_rollout(self.home, older)
            return self.ref_of(archive_rollout(self.home, Path(ref.location)))
        finally:
            lock.release()

    def unarchive(self, ref: LogRef) -> LogRef:
        """Move an archived rollout (and the thread's older files) back under its date
        folders (mtime now), holding the thread's writer lock."""
        lock = ThreadLock(self.home, ref.thread_id)
        try:
            for older in rollout_paths_of(self.home, ref.thread_id, archived=True):
                if str(older) != ref.location:
                    unarchive_rollout(self.home, older)
            return self.ref_of(unarchive_rollout(self.home, Path(ref.location)))
        finally:
            lock.release()

    def set_name(self, thread_id: str, name: str, updated_at: str) -> None:
        """Append a name to ``session_index.jsonl`` (fsynced), under Codex's lock on it."""
        with name_index_lock(self.home):
            names.append_thread_name(self.home, thread_id, name, updated_at)

    def name_of(self, thread_id: str) -> str | None:
        """A thread's current name."""
        return names.find_thread_name(self.home, thread_id)

    def names_of(self, thread_ids: Iterable[str]) -> dict[str, str]:
        """The current names of the given threads."""
        return names.find_thread_names(self.home, thread_ids)


def _resumable(fd: int, start: LogPosition, identity: str, size: int) -> bool:
    """A position can be continued from: same file, within it, just after a newline."""
    if start.identity != identity or not 0 <= start.offset <= size:
        return False
    if start.offset == 0:
        return True
    return os.pread(fd, 1, start.offset - 1) == _NEWLINE


def _read_from(fd: int, offset: int, expected: int) -> bytes:
    """Every byte from ``offset`` to the end: ``expected`` of them, unless the file grew."""
    parts: list[bytes] = []
    size = expected + 1  # one more: a file that grew meanwhile is read on to its end
    while chunk := os.pread(fd, size, offset):
        parts.append(chunk)
        offset += len(chunk)
        size = 1 << 20
    return parts[0] if len(parts) == 1 else b"".join(parts)
