"""Listing pages of the PostgreSQL index at 100,000 threads, beside the bare query.

A throwaway PostgreSQL (``tests/support/postgres.py``) gets 100,000 rows through the index
port's own batch upsert (timed: rows/s); then, in one run, the median time of a page
through ``PostgresIndex.page`` (first page and 90% deep) beside the same SQL run bare on
one psycopg connection. Run: ``.venv/bin/python bench/pg_pages.py [THREADS]``.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import Cluster
from threadlog.events.ids import Uuid7Generator
from threadlog.events.rows import Anchor, IndexEntry, ThreadQuery
from threadlog.store.pg_index import PostgresIndex, build_pg_list_sql
from threadlog.testing.contracts.index_store import PAST_MS, row_of

SAMPLES = 200


def main() -> None:
    """Fill, then measure both ways."""
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    cluster = Cluster()
    cluster.start()
    try:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        index = PostgresIndex(cluster.dsn, schema=schema)
        gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
        ids = [gen() for _ in range(threads)]
        start = time.perf_counter()
        for at in range(0, threads, 5000):
            index.upsert([IndexEntry(row_of(t, n)) for n, t in enumerate(ids[at : at + 5000], at)])
        filled = time.perf_counter() - start
        conn = psycopg.connect(cluster.dsn, options=f"-c search_path={schema}")
        conn.execute("ANALYZE threads")
        deep = int(threads * 0.1)  # rows are listed newest first: 90% deep is the 10% oldest
        queries = {
            "first page": ThreadQuery(limit=25, source_kinds=("cli",)),
            "page 90% deep": ThreadQuery(
                limit=25,
                source_kinds=("cli",),
                anchor=Anchor("created_at", PAST_MS + deep * 1000, ids[deep]),
            ),
        }
        print(f"{threads:,} rows upserted in {filled:.1f} s ({threads / filled:,.0f} rows/s)")
        print(f"{'page':16} {'index port (ms)':>16} {'bare SQL (ms)':>14} {'ratio':>6}")
        for label, query in queries.items():
            sql, args = build_pg_list_sql(query)
            port, raw = [], []
            for _ in range(SAMPLES):
                t = time.perf_counter()
                page = index.page(query)
                port.append(time.perf_counter() - t)
                t = time.perf_counter()
                conn.execute(sql, args).fetchall()
                raw.append(time.perf_counter() - t)
            assert len(page.rows) == 25
            a, b = statistics.median(port), statistics.median(raw)
            print(f"{label:16} {a * 1e3:16.3f} {b * 1e3:14.3f} {a / b:6.2f}")
        conn.close()
        index.close()
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
