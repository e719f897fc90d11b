"""Live sync of the index: rows of loaded threads follow their logs with a short delay.

Actors mark their thread dirty after each write; this task writes the dirty rows in one
transaction every ``interval`` seconds (and on ``flush``), in a worker thread. Rows carry
the live ``updated_at`` (made unique per millisecond by the DB) and the file facts the
indexer needs to resume reading later (size, offset, mtime, inode). A thread that is not
materialized has no file and gets no row.
"""

from __future__ import annotations

import os

import msgspec
import structlog
import trio

from threadlog.events.rows import ThreadRecord
from threadlog.store.statedb import StateDb

log = structlog.get_logger("threadlog.index")


def _with_file_facts(record: ThreadRecord) -> ThreadRecord | None:
    try:
        stat = os.stat(record.row.rollout_path)
    except OSError:
        return None
    row = msgspec.structs.replace(
        record.row, file_size=stat.st_size, file_mtime_ns=stat.st_mtime_ns, file_ino=stat.st_ino
    )
    return ThreadRecord(row, record.dynamic_tools)


class IndexSyncer:
    """Batches index writes of live threads."""

    def __init__(self, db: StateDb | None, interval: float = 0.05) -> None:
        self.db = db
        self.interval = interval
        self._dirty: dict[str, ThreadRecord] = {}
        self._wake = trio.Event()
        self._lock = trio.Lock()
        self.writes = 0

    def mark(self, record: ThreadRecord) -> None:
        """Queue a thread's current row."""
        if self.db is None:
            return
        self._dirty[record.row.id] = record
        self._wake.set()

    async def flush(self) -> None:
        """Write every queued row now."""
        async with self._lock:
            if not self._dirty or self.db is None:
                return
            batch, self._dirty = list(self._dirty.values()), {}
            db = self.db

            def write() -> None:
                records = [r for r in map(_with_file_facts, batch) if r is not None]
                if records:
                    db.upsert_records(records)

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
