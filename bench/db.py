"""State DB at 100,000 threads: upserts/s in batches of 200 and keyset page latency at
depth, beside the same inserts through the standard ``sqlite3`` module, in one run.

Run: ``.venv/bin/python bench/db.py [ROWS]``.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadlog.events.ids import Uuid7Generator
from threadlog.events.rows import Anchor, IndexEntry, ThreadQuery, ThreadRow
from threadlog.store.row_sql import INSERT_THREAD, row_values
from threadlog.store.statedb import StateDb
from threadlog.store.thread_listing import page_threads

BATCH = 200


def make_rows(count: int) -> list[ThreadRow]:
    """Realistic rows with distinct times."""
    gen = Uuid7Generator(clock_ms=lambda: 1_760_000_000_000)
    return [
        ThreadRow(
            id=gen(),
            rollout_path=f"/home/u/.codex/sessions/2026/01/01/rollout-{n}.jsonl",
            created_at_ms=1_700_000_000_000 + n * 1000,
            updated_at_ms=1_700_000_500_000 + n * 997,
            source="cli",
            source_kind="cli" if n % 3 else "vscode",
            model_provider="openai",
            cwd=f"/home/u/proj{n % 50}",
            title=f"Fix the failing test number {n}",
            first_user_message=f"Fix the failing test number {n}",
            cli_version="0.105.0",
            model="gpt-5",
            tokens_used=n,
        )
        for n in range(count)
    ]


def time_page(db: StateDb, key: str, depth: int, repeats: int = 50) -> float:
    """Median seconds to fetch a 25-row page starting ``depth`` rows in."""
    anchor = None
    if depth:
        column = f"{key}_ms"
        value, tid = db.query(
            f"SELECT {column}, id FROM threads ORDER BY {column} DESC, id DESC LIMIT 1 OFFSET ?",
            (depth - 1,),
        )[0]
        anchor = Anchor(key, value, tid)  # type: ignore[arg-type]
    query = ThreadQuery(sort_key=key, limit=25, anchor=anchor, source_kinds=None)  # type: ignore[arg-type]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        page_threads(db, query)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    """Run the inserts both ways, then the page latencies."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rows = make_rows(count)
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDb(Path(tmp) / "threadlog.sqlite")
        start = time.perf_counter()
        for i in range(0, count, BATCH):
            db.upsert_records([IndexEntry(r) for r in rows[i : i + BATCH]])
        ours = count / (time.perf_counter() - start)

        ref_path = Path(tmp) / "ref.sqlite"
        StateDb(ref_path).close()  # same schema
        conn = sqlite3.connect(ref_path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        start = time.perf_counter()
        for i in range(0, count, BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT_THREAD, [row_values(r) for r in rows[i : i + BATCH]])
            conn.execute("COMMIT")
        ref = count / (time.perf_counter() - start)
        conn.close()

        print(f"rows: {count:,}, batches of {BATCH}")
        print(f"upserts/s  threadlog (apsw, unique-ms, git-keeping): {ours:10,.0f}")
        print(f"upserts/s  sqlite3 executemany, same SQL           : {ref:10,.0f}")
        print(f"ratio                                               : {ours / ref:10.2f}")
        for key in ("created_at", "updated_at"):
            first = time_page(db, key, 0)
            deep = time_page(db, key, 90_000 if count >= 100_000 else count * 9 // 10)
            print(
                f"{key:10} first page {first * 1e3:6.3f} ms   page 90,000 deep "
                f"{deep * 1e3:6.3f} ms   ratio {deep / first:5.2f}"
            )
        db.close()


if __name__ == "__main__":
    main()
