"""serve with its index on PostgreSQL answers as serve on SQLite does (the 0.171 home)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import trio

from tests.support.corpus import copy_codex_home
from tests.support.rpc_client import RpcClient, close_server, start_server
from threadlog.events.sources import SOURCE_KINDS

ALL = {"sourceKinds": list(SOURCE_KINDS)}  # most of this home's threads are exec's
LISTINGS: list[dict[str, Any]] = [
    {},
    {**ALL, "limit": 7},
    {**ALL, "modelProviders": [], "limit": 50},
    {**ALL, "sortKey": "updated_at", "limit": 30},
    {**ALL, "searchTerm": "listing", "modelProviders": []},
    {**ALL, "archived": True},
]


async def _pages(home: Path, *extra: str) -> list[Any]:
    out = []
    async with start_server(home, *extra) as process:
        client = RpcClient(process)
        await client.initialize()
        for params in LISTINGS:
            page = await client.result("thread/list", params)
            seen = [[t["id"] for t in page["data"]]]
            while page.get("nextCursor") and len(seen) < 20:
                page = await client.result("thread/list", {**params, "cursor": page["nextCursor"]})
                seen.append([t["id"] for t in page["data"]])
            out.append(seen)
        await close_server(process)
    return out


async def test_a_postgres_index_lists_what_the_sqlite_one_lists(
    tmp_path: Path, postgres_dsn: str
) -> None:
    sqlite_home = copy_codex_home("0.171.0", tmp_path / "a")
    pg_home = copy_codex_home("0.171.0", tmp_path / "b")
    schema = f"s_{uuid.uuid4().hex[:12]}"
    expected = await _pages(sqlite_home)
    assert any(len(pages) > 1 for pages in expected)  # paging is exercised
    # the first serve backfills into PostgreSQL (its first answers come from the files)
    first = await _pages(pg_home, "--index", postgres_dsn, "--index-schema", schema)
    with psycopg.connect(postgres_dsn, options=f"-c search_path={schema}") as conn:
        with trio.fail_after(30):
            while conn.execute("SELECT status FROM backfill_state").fetchall() != [("complete",)]:
                await trio.sleep(0.1)
        assert conn.execute("SELECT count(*) FROM threads").fetchall() == [(215,)]
    # the second answers from the index: the same pages
    second = await _pages(pg_home, "--index", postgres_dsn, "--index-schema", schema)
    assert first == expected
    assert second == expected
    assert not (pg_home / "threadlog.sqlite").exists()  # nothing written to the home's DB
