"""Codex's own locks in a home it shares with us, honoured and taken the same way.

Current Codex (0.169+) holds, while a thread is open in it, an exclusive ``flock`` on
``$CODEX_HOME/thread-writer-locks/<thread id>.lock`` (an empty file: a clean exit deletes
it, a killed process leaves it behind with the lock released by the kernel). It appends to
``session_index.jsonl`` holding an exclusive ``flock`` on ``session_index.jsonl.lock``.

threadlog takes the same locks when it writes: a thread Codex holds is refused with a clear
error (``ThreadHeldError``), and while threadlog writes a thread Codex cannot open it for
writing. Locks are taken non-blocking for threads (a holder may hold for hours) and with a
short bounded wait for the name index (holders keep it for one append).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from threadlog.events.ids import parse_thread_id
from threadlog.store.layout import SESSION_INDEX_FILE, make_private_dirs
from threadlog.store.ports import WriterLockedError

THREAD_LOCK_DIR: Final = "thread-writer-locks"
NAME_INDEX_LOCK: Final = SESSION_INDEX_FILE + ".lock"
NAME_LOCK_WAIT: Final = 5.0


class ThreadHeldError(WriterLockedError):
    """Another writer (Codex, or another threadlog) has the thread open."""


class ThreadLock:
    """Codex's writer lock on one thread, held until ``release``."""

    def __init__(self, home: Path, thread_id: str) -> None:
        tid = parse_thread_id(thread_id)  # a path segment: checked before it is joined
        directory = home / THREAD_LOCK_DIR
        make_private_dirs(directory)
        self.path = directory / f"{tid}.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ThreadHeldError(
                f"thread {tid} is open in another writer (its lock {self.path} is held)"
            ) from None

    def release(self) -> None:
        """Let go, removing the file as Codex does on a clean exit; idempotent."""
        if self._fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = -1


@contextlib.contextmanager
def name_index_lock(home: Path, wait: float = NAME_LOCK_WAIT) -> Iterator[None]:
    """Hold ``session_index.jsonl.lock`` for one append (waiting up to ``wait`` seconds)."""
    make_private_dirs(home)
    fd = os.open(home / NAME_INDEX_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterLockedError(
                        f"{home / NAME_INDEX_LOCK} stayed locked for {wait:.0f} s"
                    ) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)
