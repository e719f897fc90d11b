"""PostgreSQL restarted under a running serve: the index catches up, nothing is lost."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import trio

from tests.support.postgres import Cluster
from tests.support.rpc_client import RpcClient, close_server, start_server


def _indexed_offset(dsn: str, schema: str, tid: str) -> int | None:
    try:
        with psycopg.connect(dsn, options=f"-c search_path={schema}", connect_timeout=2) as conn:
            rows = conn.execute("SELECT log_offset FROM threads WHERE id = %s", (tid,)).fetchall()
    except psycopg.OperationalError:
        return None
    return int(rows[0][0]) if rows else None


async def test_the_index_catches_up_after_postgres_restarts(tmp_path: Path) -> None:
    cluster = Cluster()  # a server of its own: this test stops it
    cluster.start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        schema = f"f_{uuid.uuid4().hex[:12]}"
        where = ("--index", cluster.dsn, "--index-schema", schema, "--lease-seconds", "60")
        async with start_server(home, *where) as process:
            client = RpcClient(process)
            await client.initialize()
            tid = (await client.result("thread/start", {"cwd": str(home)}))["thread"]["id"]
            turn = {"threadId": tid, "input": [{"type": "text", "text": "one"}]}
            await client.result("turn/start", turn)
            await client.until("turn/completed")
            cluster.stop()  # the index is gone while a turn runs
            turn = {"threadId": tid, "input": [{"type": "text", "text": "two"}]}
            await client.result("turn/start", turn)
            await client.until("turn/completed", 2)
            # the syncer's write fails once the pool gives up waiting (5 s): the row is kept
            await trio.sleep(7)
            cluster.start()
            log = next((home / "sessions").rglob("rollout-*.jsonl"))
            with trio.fail_after(20):
                while _indexed_offset(cluster.dsn, schema, tid) != log.stat().st_size:
                    await trio.sleep(0.2)
            read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
            assert [t["status"] for t in read["thread"]["turns"]] == ["completed", "completed"]
            await close_server(process)
    finally:
        cluster.remove()
