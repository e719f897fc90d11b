"""The recorder: the one writer of a thread's rollout file, with deferred materialization.

A fresh thread knows its path from the start, but nothing exists on disk (no directory, no
file, no index row) until ``persist()``: the first user turn, a fork or a rename. Items
recorded before that wait in memory, in order; ``persist`` writes ``session_meta`` (with
git facts of the cwd) and then those items. Every item passes the persistence policy of its
thread's mode first. Appends run in a worker thread and are shielded from cancellation, so
an interrupt can never leave half a line; in ``fsync`` mode an append returns once its
bytes are on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import trio

from threadlog.actors.shell.gitinfo import collect_git_info
from threadlog.events import RolloutLine, encode_line
from threadlog.events.rollout import RolloutItem, SessionMeta
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.projections.policy import PersistenceMode, persisted_form
from threadlog.store.appender import Durability, RolloutAppender


def now_ms() -> int:
    """Wall-clock Unix milliseconds."""
    return time.time_ns() // 1_000_000


class Recorder:
    """Records one thread's items into its rollout file."""

    def __init__(
        self,
        path: Path,
        meta: SessionMeta,
        *,
        mode: PersistenceMode,
        durability: Durability,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.path = path
        self.meta = meta
        self.mode: PersistenceMode = mode
        self.durability: Durability = durability
        self.clock_ms = clock_ms
        self.materialized = False
        self._pending: list[bytes] = []
        self._appender: RolloutAppender | None = None
        self._lock = trio.Lock()
        self.end_offset = 0

    @classmethod
    async def reopen(
        cls,
        path: Path,
        meta: SessionMeta,
        *,
        mode: PersistenceMode,
        durability: Durability,
    ) -> Recorder:
        """A recorder appending to an existing file (resume: no new ``session_meta``)."""
        recorder = cls(path, meta, mode=mode, durability=durability)
        recorder._appender = await trio.to_thread.run_sync(
            lambda: RolloutAppender(path, durability=durability)
        )
        recorder.end_offset = recorder._appender.offset
        recorder.materialized = True
        return recorder

    def _line(self, item: RolloutItem) -> bytes:
        return encode_line(RolloutLine(format_timestamp_ms(self.clock_ms()), item))

    def filter(self, items: Sequence[RolloutItem]) -> list[RolloutItem]:
        """The items as this thread persists them (dropped ones left out)."""
        kept = []
        for item in items:
            written = persisted_form(item, self.mode)
            if written is not None:
                kept.append(written)
        return kept

    async def record(self, items: Sequence[RolloutItem]) -> list[RolloutItem]:
        """Persist (or buffer, before materialization) what the policy keeps; returns it."""
        kept = self.filter(items)
        if kept:
            await self.write_lines([self._line(item) for item in kept])
        return kept

    async def write_lines(self, lines: list[bytes]) -> None:
        """Append encoded lines as they are (fork copies source lines byte for byte)."""
        async with self._lock:
            if not self.materialized:
                self._pending.extend(lines)
                return
            await self._append(lines)

    async def _append(self, lines: list[bytes]) -> None:
        appender = self._appender
        assert appender is not None
        with trio.CancelScope(shield=True):
            self.end_offset = await trio.to_thread.run_sync(appender.append, lines)

    async def persist(self) -> bool:
        """Materialize: create the file, write the meta and what was pending. Idempotent.

        Returns True when this call materialized the thread.
        """
        async with self._lock:
            if self.materialized:
                return False
            git = await collect_git_info(self.meta.cwd)
            if git is not None:
                self.meta = msgspec.structs.replace(self.meta, git=git)
            path, durability = self.path, self.durability
            with trio.CancelScope(shield=True):
                self._appender = await trio.to_thread.run_sync(
                    lambda: RolloutAppender(path, durability=durability)
                )
                self.materialized = True
                lines = [self._line(self.meta), *self._pending]
                self._pending = []
                await self._append(lines)
            return True

    @property
    def pending_count(self) -> int:
        """How many lines wait for materialization."""
        return len(self._pending)

    async def flush(self) -> None:
        """Make everything appended durable (buffered modes)."""
        if self._appender is not None:
            appender = self._appender
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(appender.flush)

    async def close(self) -> None:
        """Close the file (pending, unmaterialized items are dropped with the thread)."""
        async with self._lock:
            if self._appender is not None:
                appender, self._appender = self._appender, None
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(appender.close)
