"""Child process for the backfill crash test: run the backfill, print each checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

from threadlog.projections.index.backfill import BackfillProgress, run_backfill
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex


def main() -> None:
    """Usage: python -m tests.support.backfill_child HOME."""
    home = Path(sys.argv[1])
    db = SqliteIndex.for_home(home)

    def checkpoint(progress: BackfillProgress) -> None:
        print(f"checkpoint {progress.done}", flush=True)

    stats = run_backfill(FileLogStore(home), db, batch_size=50, progress=checkpoint)
    print(f"done {stats.files}", flush=True)


if __name__ == "__main__":
    main()
