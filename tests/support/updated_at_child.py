"""Child process: touch updated_at of many threads; prints the stamps it got."""

from __future__ import annotations

import sys
from pathlib import Path

from threadlog.store.statedb import StateDb


def main() -> None:
    """Usage: python -m tests.support.updated_at_child DB THREAD_ID COUNT."""
    db = StateDb(Path(sys.argv[1]))
    stamps = [db.touch_updated_at(sys.argv[2]) for _ in range(int(sys.argv[3]))]
    print(" ".join(str(s) for s in stamps), flush=True)
    db.close()


if __name__ == "__main__":
    main()
