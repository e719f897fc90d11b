"""Live sync of the index: rows of loaded threads follow their logs with a short delay.

Actors mark their thread dirty after each write; this task writes the dirty rows in one
batch every ``interval`` seconds (and on ``flush``), in a worker thread, or less often when
flushes grow long under load (each is followed by a pause of four times its length). Rows carry the
live ``updated_at`` (made unique per millisecond by the index) and the log position their
recorder reached, so a later index run resumes there. A row whose log has moved or vanished
since it was marked (an archive raced the flush) is not written: the move updates it.

Nothing marked is lost: rows marked before the index is open (serve opens it in the
background) wait for it, and a batch the index refused (a database restarting, a network
gone) is queued again, behind any newer row of the same thread, and retried with backoff.
"""

from __future__ import annotations

import trio

from threadlog.events.rows import IndexEntry
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import IndexStore, LogStore

log = get_logger("threadlog.index")
LOAD_SHARE = 4  # a flush taking t is followed by a pause of at least 4t


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
        self.failures = 0  # consecutive failed flushes
        self.disabled = False  # a runtime without an index: nothing to queue

    def mark(self, entry: IndexEntry) -> None:
        """Queue a thread's current row."""
        if self.disabled:
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
                present = logs.present(r.row.rollout_path for r in batch)
                records = [r for r in batch if r.row.rollout_path in present]
                if records:
                    index.upsert(records)

            with trio.CancelScope(shield=True):
                try:
                    await trio.to_thread.run_sync(write)
                except Exception as exc:
                    self.failures += 1
                    for entry in batch:  # again, unless a newer row came meanwhile
                        self._dirty.setdefault(entry.row.id, entry)
                    log.warning(
                        "index_sync_failed",
                        threads=len(batch),
                        failures=self.failures,
                        error=str(exc),
                    )
                    return
                self.writes += 1
                self.failures = 0

    async def run(self) -> None:
        """Flush periodically until cancelled (then flush once more)."""
        try:
            pause = self.interval
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                # after failures, back off (up to 5 s) before trying the index again
                await trio.sleep(min(5.0, max(pause, self.interval * 2**self.failures)))
                started = trio.current_time()
                await self.flush()
                # Under load a flush is long (1,000 busy threads: a row each): wait longer
                # after it, so the index takes at most a fifth of the time from the logs.
                pause = max(self.interval, (trio.current_time() - started) * LOAD_SHARE)
                if self._dirty:
                    self._wake.set()
        finally:
            with trio.CancelScope(shield=True):
                await self.flush()
