"""Child process for the backfill crash test: run the backfill, print each checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

from threadlog.projections.index.backfill import BackfillProgress, run_backfill
from threadlog.store.statedb import StateDb


def main() -> None:
    """Usage: python -m tests.backfill_child HOME."""
    home = Path(sys.argv[1])
    db = StateDb.for_home(home)

    def checkpoint(progress: BackfillProgress) -> None:
        print(f"checkpoint {progress.done}", flush=True)

    stats = run_backfill(home, db, batch_size=50, progress=checkpoint)
    print(f"done {stats.files}", flush=True)


if __name__ == "__main__":
    main()
