"""Child process for the lease race: wait for the start file, try to claim, print the result."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from threadlog.store.lease import try_claim_backfill
from threadlog.store.statedb import StateDb


def main() -> None:
    """Usage: python -m tests.support.lease_child DB START_FILE."""
    db_path, start = Path(sys.argv[1]), Path(sys.argv[2])
    db = StateDb(db_path)
    print("ready", flush=True)
    while not start.exists():
        time.sleep(0.001)
    print("claimed" if try_claim_backfill(db, 900) else "refused", flush=True)
    db.close()


if __name__ == "__main__":
    main()
