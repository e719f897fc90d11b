"""Child process for the backfill crash tests: run the backfill (its logs folded by two
worker processes, as the CLI does), print each checkpoint; with BACKFILL_CHILD_WAIT=1,
wait for a line on stdin after each one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from threadlog.actors.cli.extract_pool import extraction_pool
from threadlog.projections.index.backfill import BackfillProgress, run_backfill
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex


def main() -> None:
    """Usage: python -m tests.support.backfill_child HOME."""
    home = Path(sys.argv[1])
    db = SqliteIndex.for_home(home)

    wait = os.environ.get("BACKFILL_CHILD_WAIT") == "1"

    def checkpoint(progress: BackfillProgress) -> None:
        print(f"checkpoint {progress.done}", flush=True)
        if wait:  # the test signals us here, mid-backfill, its workers folding
            sys.stdin.readline()

    logs = FileLogStore(home)
    with extraction_pool(logs, workers=2) as extract:
        stats = run_backfill(logs, db, batch_size=50, progress=checkpoint, extract=extract)
    print(f"done {stats.files}", flush=True)


if __name__ == "__main__":
    main()
