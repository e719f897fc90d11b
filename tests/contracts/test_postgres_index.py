"""What the PostgreSQL index adds to the contract: plans, races, schemas, migrations."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from threadlog.events.ids import Uuid7Generator
from threadlog.events.rows import Anchor, IndexEntry, ThreadQuery
from threadlog.store.pg_index import MIGRATIONS, PostgresIndex, build_pg_list_sql
from threadlog.testing.contracts.index_store import PAST_MS, row_of


def _schema() -> str:
    return f"x_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def index(postgres_dsn: str) -> Any:
    store = PostgresIndex(postgres_dsn, schema=_schema(), pool_size=4)
    yield store
    store.close()


def _fill(index: PostgresIndex, count: int) -> list[str]:
    gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
    ids = [gen() for _ in range(count)]
    for start in range(0, count, 1000):
        index.upsert(
            [IndexEntry(row_of(tid, n)) for n, tid in enumerate(ids[start : start + 1000], start)]
        )
    with psycopg.connect(index._pool.conninfo, options=f"-c search_path={index.schema}") as conn:
        conn.execute("ANALYZE threads")
    return ids


@pytest.mark.parametrize("key", ["created_at", "updated_at", "recency_at"])
@pytest.mark.parametrize("deep", [False, True])
def test_a_page_is_a_seek_in_the_listing_index_without_a_sort(
    index: PostgresIndex, key: str, deep: bool
) -> None:
    ids = _fill(index, 5000)
    anchor = Anchor(key, PAST_MS + 4500 * 1000, ids[4500]) if deep else None  # type: ignore[arg-type]
    query = ThreadQuery(sort_key=key, limit=25, anchor=anchor, source_kinds=("cli",))  # type: ignore[arg-type]
    sql, args = build_pg_list_sql(query)
    with psycopg.connect(index._pool.conninfo, options=f"-c search_path={index.schema}") as conn:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, args).fetchall())
    assert f"Index Scan Backward using threads_list_{key.split('_')[0]}" in plan, plan
    assert "Sort" not in plan, plan
    page = index.page(query)
    assert len(page.rows) == 25


def test_of_racing_claimants_exactly_one_gets_the_lease(postgres_dsn: str) -> None:
    schema = _schema()
    stores = [PostgresIndex(postgres_dsn, schema=schema, pool_size=1) for _ in range(12)]
    barrier = threading.Barrier(len(stores))
    won: list[bool] = []

    def claim(store: PostgresIndex) -> None:
        barrier.wait()
        won.append(store.claim_backfill(60))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False] * 11 + [True]
    assert stores[0].backfill_state().status == "running"
    for store in stores:
        store.close()


def test_migrations_are_versioned_and_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    schema = _schema()
    PostgresIndex(postgres_dsn, schema=schema).close()
    again = PostgresIndex(postgres_dsn, schema=schema)  # at the latest version: nothing to do
    again.close()
    with psycopg.connect(postgres_dsn, options=f"-c search_path={schema}") as conn:
        assert conn.execute("SELECT version FROM threadlog_schema").fetchall() == [
            (len(MIGRATIONS),)
        ]
        conn.execute("UPDATE threadlog_schema SET version = version + 1")
    with pytest.raises(RuntimeError, match="newer than this threadlog"):
        PostgresIndex(postgres_dsn, schema=schema)


@pytest.mark.parametrize("bad", ["Threadlog", "a;drop table x", "1abc", "", "a-b"])
def test_the_schema_name_must_be_a_plain_identifier(postgres_dsn: str, bad: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        PostgresIndex(postgres_dsn, schema=bad)


def test_a_batch_is_one_upsert_and_rows_round_trip(index: PostgresIndex) -> None:
    gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
    rows = [row_of(gen(), n, name=f"n{n}" if n % 2 else None) for n in range(300)]
    index.upsert([IndexEntry(r) for r in rows])
    assert sorted(index.rows(), key=lambda r: r.id) == sorted(rows, key=lambda r: r.id)
    # the same batch again replaces, never duplicates
    index.upsert([IndexEntry(r) for r in rows])
    assert len(index.rows()) == 300
