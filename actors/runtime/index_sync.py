"""Live sync of the index: rows of loaded threads follow their logs with a short delay.

Actors mark their thread dirty after each write; this task writes the dirty rows in one
batch every ``interval`` seconds (and on ``flush``), in a worker thread. Rows carry the
live ``updated_at`` (made unique per millisecond by the index) and the log position their
recorder reached, so a later index run resumes there. A row whose log has moved or vanished
since it was marked (an archive raced the flush) is not written: the move updates it.
"""

from __future__ import annotations

import trio

from threadlog.events.rows import IndexEntry
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import IndexStore, LogStore

log = get_logger("threadlog.index")


class IndexSyncer:
    """Batches index writes of live threads."""

    def __init__(self, logs: LogStore, index: IndexStore | None, interval: float = 0.05) -> None:
        self.logs = logs
        self.index = index
        self.interval = interval
        self._dirty: dict[str, IndexEntry] = {}
        self._wake = trio.Event()
        self._lock = trio.Lock()
        self.writes = 0

    def mark(self, entry: IndexEntry) -> None:
        """Queue a thread's current row."""
        if self.index is None:
            return
        self._dirty[entry.row.id] = entry
        self._wake.set()

    async def flush(self) -> None:
        """Write every queued row now."""
        async with self._lock:
            if not self._dirty or self.index is None:
                return
            batch, self._dirty = list(self._dirty.values()), {}
            index, logs = self.index, self.logs

            def write() -> None:
                records = [r for r in batch if logs.ref_at(r.row.rollout_path) is not None]
                if records:
                    index.upsert(records)

            with trio.CancelScope(shield=True):
                try:
                    await trio.to_thread.run_sync(write)
                    self.writes += 1
                except Exception:
                    log.exception("index_sync_failed", threads=len(batch))

    async def run(self) -> None:
        """Flush periodically until cancelled (then flush once more)."""
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                await trio.sleep(self.interval)
                await self.flush()
        finally:
            with trio.CancelScope(shield=True):
                await self.flush()
