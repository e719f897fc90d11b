"""Two serve hosts sharing one index on PostgreSQL: each thread is owned by one host."""

from __future__ import annotations

import uuid
from pathlib import Path

import trio

from tests.support.rpc_client import RpcClient, close_server, start_server


def _hosts(dsn: str, schema: str, name: str, lease: float = 30.0) -> tuple[str, ...]:
    return (
        "--index", dsn, "--index-schema", schema, "--host-id", name,
        "--lease-seconds", str(lease),
    )  # fmt: skip


async def _start_thread(client: RpcClient, home: Path) -> str:
    tid: str = (await client.result("thread/start", {"cwd": str(home)}))["thread"]["id"]
    turn = {"threadId": tid, "input": [{"type": "text", "text": "hello"}]}
    await client.result("turn/start", turn)
    await client.until("turn/completed")
    return tid


async def test_a_thread_owned_by_one_host_is_refused_by_another_until_released(
    tmp_path: Path, postgres_dsn: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    schema = f"h_{uuid.uuid4().hex[:12]}"
    async with start_server(home, *_hosts(postgres_dsn, schema, "host-a")) as a:
        first = RpcClient(a)
        await first.initialize()
        tid = await _start_thread(first, home)
        async with start_server(home, *_hosts(postgres_dsn, schema, "host-b")) as b:
            second = RpcClient(b)
            await second.initialize()
            refused = await second.call("thread/resume", {"threadId": tid})
            assert "owned by host host-a" in refused["error"]["message"]
            # every host lists every thread
            listed = await second.result("thread/list", {})
            assert [t["id"] for t in listed["data"]] == [tid]
            await close_server(a)  # host-a gives its threads back as it stops
            resumed = await second.result("thread/resume", {"threadId": tid})
            assert resumed["thread"]["id"] == tid
            turn = {"threadId": tid, "input": [{"type": "text", "text": "again"}]}
            await second.result("turn/start", turn)
            await second.until("turn/completed")
            await close_server(b)


async def test_a_killed_owner_is_taken_over_after_its_lease(
    tmp_path: Path, postgres_dsn: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    schema = f"k_{uuid.uuid4().hex[:12]}"
    async with start_server(home, *_hosts(postgres_dsn, schema, "host-a", lease=2.0)) as a:
        first = RpcClient(a)
        await first.initialize()
        tid = await _start_thread(first, home)
        a.kill()  # SIGKILL: it releases nothing
        await a.wait()
    async with start_server(home, *_hosts(postgres_dsn, schema, "host-b", lease=2.0)) as b:
        second = RpcClient(b)
        await second.initialize()
        refused = await second.call("thread/resume", {"threadId": tid})
        assert "owned by host host-a" in refused["error"]["message"]
        with trio.fail_after(10):
            while "error" in (answer := await second.call("thread/resume", {"threadId": tid})):
                await trio.sleep(0.2)
        assert answer["result"]["thread"]["id"] == tid
        read = await second.result("thread/read", {"threadId": tid, "includeTurns": True})
        assert [t["status"] for t in read["thread"]["turns"]] == ["completed"]  # nothing lost
        await close_server(b)
