"""The recorder: the one writer of a thread's log, with deferred materialization.

Every write to a thread's log goes through a recorder and its store's ``LogWriter``: live
turns, forks, and renames of unloaded threads alike, each append at the position the
recorder expects (a second writer is refused, never interleaved). A fresh thread knows its
log's ref from the start, but nothing exists (no directory, no file, no index row) until
``persist()``: the first user turn, a fork or a rename. Items
recorded before that wait in memory, in order; ``persist`` writes ``session_meta`` (with
git facts of the cwd) and then those items. Every item passes the persistence policy of its
thread's mode first. Appends run in a worker thread (batched with the other actors'
through the runtime's ``AppendBatcher``) and are shielded from cancellation, so an
interrupt can never leave half a line; in ``fsync`` mode an append returns once its bytes
are on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
import trio

from threadlog.actors.runtime.append_batcher import AppendBatcher
from threadlog.actors.runtime.quick_lock import QuickLock
from threadlog.actors.shell.gitinfo import collect_git_info
from threadlog.events import RolloutLine, encode_line
from threadlog.events.rollout import RolloutItem, SessionMeta
from threadlog.events.rows import LogPosition
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.projections.policy import PersistenceMode, persisted_form
from threadlog.store.clock import wall_clock_ms
from threadlog.store.ports import Durability, LogRef, LogStore, LogWriter


class Recorder:
    """Records one thread's items into its rollout file."""

    def __init__(
        self,
        logs: LogStore,
        ref: LogRef,
        meta: SessionMeta,
        *,
        mode: PersistenceMode,
        durability: Durability,
        appends: AppendBatcher,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.logs = logs
        self.ref = ref
        self.meta = meta
        self.mode: PersistenceMode = mode
        self.durability: Durability = durability
        self.clock_ms = clock_ms
        self.appends = appends
        self.materialized = False
        self._pending: list[bytes] = []
        self._writer: LogWriter | None = None
        self._lock = QuickLock()
        self.position = LogPosition()

    @classmethod
    async def reopen(
        cls,
        logs: LogStore,
        ref: LogRef,
        meta: SessionMeta,
        *,
        mode: PersistenceMode,
        durability: Durability,
        appends: AppendBatcher,
    ) -> Recorder:
        """A recorder appending to an existing log (resume: no new ``session_meta``).

        Raises ``WriterLockedError`` when another writer holds the log.
        """
        recorder = cls(logs, ref, meta, mode=mode, durability=durability, appends=appends)
        writer = await trio.to_thread.run_sync(lambda: logs.open_writer(ref, durability=durability))
        recorder._writer = writer
        recorder.position = writer.position
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
        writer = self._writer
        assert writer is not None
        # on the runtime's I/O pool (or alone before it starts); cannot be cancelled
        self.position = await self.appends.append(writer, lines, self.position)

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
            logs, ref, durability = self.logs, self.ref, self.durability
            with trio.CancelScope(shield=True):
                writer = await trio.to_thread.run_sync(
                    lambda: logs.open_writer(ref, durability=durability)
                )
                self._writer = writer
                self.position = writer.position
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
        if self._writer is not None:
            writer = self._writer
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(writer.flush)

    async def close(self) -> None:
        """Close the file (pending, unmaterialized items are dropped with the thread)."""
        async with self._lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(writer.close)
