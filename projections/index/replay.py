"""``replay``: rebuild the index from the logs alone, then swap it in atomically.

The new index is built in a separate file beside the live one (the slow part; readers keep
using the old index meanwhile; its secondary and search indexes are built once at the end,
not row by row), then copied over the live database in one transaction with
SQLite's backup API, so no reader ever sees a half-built index. When there is no live
database yet, the new file is simply renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from threadlog.projections.index.backfill import (
    BackfillProgress,
    BackfillStats,
    BatchExtractor,
    run_backfill,
)
from threadlog.store.appender import fsync_dir, fsync_file
from threadlog.store.files import FileLogStore
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import LogStore
from threadlog.store.scratch_db import remove_db_files, remove_stale_scratches, scratch_path
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.store.statedb import StateDb

log = get_logger("threadlog.replay")


def replay(
    home: Path,
    db_path: Path,
    *,
    progress: Callable[[BackfillProgress], None] | None = None,
    logs: LogStore | None = None,
    extract: BatchExtractor | None = None,
) -> BackfillStats:
    """Rebuild ``db_path`` from the rollouts under ``home`` (or the logs of ``logs``);
    ``extract`` folds the logs elsewhere (see ``run_backfill``)."""
    for stale in remove_stale_scratches(db_path):
        log.warning("replay_stale_scratch_removed", path=str(stale))
    scratch = scratch_path(db_path)
    remove_db_files(scratch)
    try:
        fresh = StateDb(scratch, scratch=True)
        try:
            with fresh.indexes_deferred():
                stats = run_backfill(
                    logs or FileLogStore(home),
                    SqliteIndex(fresh),
                    progress=progress,
                    extract=extract,
                )
        finally:
            fresh.close()
        if db_path.exists():
            # copied into the live database: its commit, checkpointed as it closes, is durable
            StateDb.overwrite_with(db_path, scratch)
        else:
            for suffix in ("-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            fsync_file(scratch)  # written without syncs: whole on disk before it is named
            os.replace(scratch, db_path)
            fsync_dir(db_path.parent)  # the rename itself survives a crash
    finally:
        remove_db_files(scratch)
    return stats
