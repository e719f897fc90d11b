"""The only writer of a rollout file: exclusive, durable, group-committed, self-healing.

One appender per file, enforced with ``fcntl.flock(LOCK_EX | LOCK_NB)`` on its own open file
description, so a second appender in this process or any other fails with
``WriterLockedError`` instead of interleaving bytes. ``store.files`` builds the log port's
writer on it.

Durability modes:

* ``none``  - lines collect in a user-space buffer and reach the OS when it fills, on
  ``flush()`` or ``close()``; a process crash loses the buffer. For throwaway runs.
* ``flush`` - every ``append`` hands its bytes to the OS before returning: survives the
  process being killed, not a power cut.
* ``fsync`` - ``append`` returns only once its bytes are on disk (``fdatasync``). Group
  commit: appends that arrive while an fsync is in flight are written at once and share
  the next fsync, so N concurrent writers cost far fewer than N fsyncs.

Healing on open: NUL padding at the end (what a filesystem can leave after a crash) is cut
off, since it was never data; a last line without its final ``\\n`` is *terminated*, not
truncated, so its bytes stay on disk as one line (readers keep it if it is valid JSON and
report it if not) and the next append starts on a fresh line. Either repair is reported in
a ``HealReport``. Appends write whole lines in one ``os.write`` loop, so a crash can only
ever leave a torn tail, never a torn middle.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec

from threadlog.store.layout import make_private_dirs
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import (
    Durability,
    LogWriteError,
    WriterClosedError,
    WriterLockedError,
)

DURABILITY_MODES: Final = ("none", "flush", "fsync")
_BUFFER_LIMIT: Final = 1 << 16
_HEAL_CHUNK: Final = 1 << 16

log = get_logger("threadlog.store")


class HealReport(msgspec.Struct, frozen=True):
    """What opening a file repaired (all zero / False when nothing was wrong)."""

    path: str
    nul_bytes_removed: int = 0
    terminated_torn_line: bool = False
    torn_line_offset: int | None = None
    torn_line_bytes: int = 0

    @property
    def healed(self) -> bool:
        """True when anything was repaired."""
        return self.nul_bytes_removed > 0 or self.terminated_torn_line


# fdatasync flushes the data and the size change an append makes; macOS lacks it.
_sync = getattr(os, "fdatasync", os.fsync)


def fsync_dir(path: Path) -> None:
    """Make a directory entry change (create, rename) durable."""
    _fsync_path(path, os.O_DIRECTORY)


def fsync_file(path: Path) -> None:
    """Make a whole file's contents durable (one written without syncs, then kept)."""
    _fsync_path(path, 0)


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    written = os.write(fd, data)
    if written == len(data):
        return
    view = memoryview(data)[written:]
    while view:
        view = view[os.write(fd, view) :]


def _heal(fd: int, path: Path) -> HealReport:
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - _HEAL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        stripped = chunk.rstrip(b"\x00")
        end = start + len(stripped)
        if stripped:
            break
    nul_removed = size - end
    if nul_removed:
        os.ftruncate(fd, end)
    if end == 0:
        return HealReport(path=str(path), nul_bytes_removed=nul_removed)
    if os.pread(fd, 1, end - 1) == b"\n":
        return HealReport(path=str(path), nul_bytes_removed=nul_removed)
    # Find where the torn line starts, for the report.
    line_start = 0
    pos = end
    while pos > 0:
        start = max(0, pos - _HEAL_CHUNK)
        chunk = os.pread(fd, pos - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            line_start = start + newline + 1
            break
        pos = start
    _write_all(fd, b"\n")
    return HealReport(
        path=str(path),
        nul_bytes_removed=nul_removed,
        terminated_torn_line=True,
        torn_line_offset=line_start,
        torn_line_bytes=end - line_start,
    )


class RolloutAppender:
    """Appends encoded lines to one rollout file; safe to call from many threads."""

    def __init__(self, path: Path, *, durability: Durability = "fsync") -> None:
        if durability not in DURABILITY_MODES:
            raise ValueError(f"unknown durability mode {durability!r}")
        self.path = path
        self.durability: Durability = durability
        existed = path.exists()
        if not existed:
            make_private_dirs(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WriterLockedError(f"another writer holds {path}") from None
        self._fd = fd
        try:
            self.heal_report = _heal(fd, path)
            if self.heal_report.healed:
                _sync(fd)
                log.warning("rollout_healed", **msgspec.structs.asdict(self.heal_report))
            if not existed and durability == "fsync":
                _sync(fd)
                fsync_dir(path.parent)
            stat = os.fstat(fd)
            self._offset = stat.st_size
            self.inode = stat.st_ino
        except BaseException:
            os.close(fd)
            raise
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._buffer = bytearray()
        self._write_seq = 0
        self._synced_seq = 0
        self._failed: OSError | None = None
        self._closed = False
        self.appends = 0
        self.fsyncs = 0

    @property
    def offset(self) -> int:
        """The logical end of the file, including buffered bytes."""
        return self._offset

    def append(self, lines: Sequence[bytes] | bytes) -> int:
        """Append whole encoded lines (each ending in ``\\n``); returns the new end offset.

        In ``fsync`` mode it returns only after the bytes are on disk.
        """
        data = lines if isinstance(lines, bytes) else b"".join(lines)
        if not data:
            return self._offset
        if not data.endswith(b"\n"):
            raise ValueError("an append must consist of whole lines ending in \\n")
        with self._write_lock:
            if self._closed:
                raise WriterClosedError(f"appender for {self.path} is closed")
            self.appends += 1
            if self.durability == "none":
                self._buffer += data
                self._offset += len(data)
                if len(self._buffer) >= _BUFFER_LIMIT:
                    self._drain_buffer()
                return self._offset
            self._write_or_undo(data, self._offset)
            self._offset += len(data)
            end = self._offset
            self._write_seq += 1
            seq = self._write_seq
        if self.durability == "fsync":
            self._sync_through(seq)
        return end

    def _write_or_undo(self, data: bytes | bytearray, start: int) -> None:
        """Write whole lines that begin at ``start``; on failure cut the file back to it (its
        last complete line), so a full disk or a file-size limit leaves no torn line behind,
        and say why."""
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)
                os.lseek(self._fd, start, os.SEEK_SET)
            except OSError as undo:
                # The tail cannot be cut: the file may hold a torn line. Stop writing; the
                # next writer heals it on open.
                self._failed = undo
                self._closed = True
            raise LogWriteError(
                exc.errno, f"cannot append to {self.path}: {exc.strerror or exc}"
            ) from exc

    def _drain_buffer(self) -> None:
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            try:
                self._write_or_undo(data, self._offset - len(data))
            except LogWriteError:
                self._offset -= len(data)  # those lines were never acknowledged as durable
                raise

    def _sync_through(self, seq: int) -> None:
        # Group commit: the fsync runs holding _sync_lock; writers that arrive meanwhile
        # queue on the lock, and whoever gets it next finds its bytes already covered or
        # covers everyone written so far with one fsync. No thundering herd, no extra
        # Python work on the common path.
        if self._synced_seq >= seq:
            return
        with self._sync_lock:
            if self._synced_seq >= seq:
                return
            if self._failed is not None:
                raise WriterClosedError(f"fsync of {self.path} failed: {self._failed}")
            if self._fd < 0:
                raise WriterClosedError(f"appender for {self.path} is closed")
            # Every write numbered <= target has finished: the counter moves after the write.
            target = self._write_seq
            try:
                _sync(self._fd)
            except OSError as exc:
                # After a failed fsync the page cache state is unknown: stop writing.
                self._failed = exc
                self._closed = True
                raise WriterClosedError(f"fsync of {self.path} failed: {exc}") from exc
            self.fsyncs += 1
            self._synced_seq = target

    def flush(self) -> None:
        """Hand buffered bytes to the OS (and to disk in ``fsync`` mode)."""
        with self._write_lock:
            if self._closed:
                return
            self._drain_buffer()
            seq = self._write_seq
        if self.durability == "fsync":
            self._sync_through(seq)

    def close(self) -> None:
        """Flush, release the lock and close the file; idempotent."""
        with self._write_lock:
            if self._fd < 0:
                return
            try:
                if not self._closed:
                    self._drain_buffer()
                    if self.durability != "none" or self.appends:
                        _sync(self._fd)
            finally:
                self._closed = True
                with self._sync_lock:
                    os.close(self._fd)
                    self._fd = -1

    def __enter__(self) -> RolloutAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
