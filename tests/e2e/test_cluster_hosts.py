"""Many serve hosts on one cluster: logs on JetStream, the index and leases on PostgreSQL.

Each host has a home of its own (its own machine): they share nothing but the two servers.
Real processes throughout: SIGKILL for a crash, SIGSTOP for a host whose clock and lease
ran out while it was paused.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from tests.support.nats import log_url
from tests.support.rpc_client import RpcClient, close_server, start_server

LEASE = 2.0


def _flags(log: str, dsn: str, schema: str, host: str) -> tuple[str, ...]:
    return (
        "--log", log, "--index", dsn, "--index-schema", schema,
        "--host-id", host, "--lease-seconds", str(LEASE),
    )  # fmt: skip


def _slow_turn(messages: int) -> str:
    steps: list[dict[str, Any]] = []
    for n in range(messages):
        steps += [{"type": "say", "text": f"m{n}"}, {"type": "sleep", "seconds": 0.05}]
    return "#script\n" + json.dumps(steps)


async def _turn(client: RpcClient, tid: str, text: str) -> None:
    done = len([n for n in client.notifications if n["method"] == "turn/completed"])
    turn = {"threadId": tid, "input": [{"type": "text", "text": text}]}
    await client.result("turn/start", turn)
    await client.until("turn/completed", done + 1)


async def _take_over(client: RpcClient, tid: str) -> dict[str, Any]:
    with trio.fail_after(20):
        while "error" in (answer := await client.call("thread/resume", {"threadId": tid})):
            assert "owned by host" in answer["error"]["message"], answer
            await trio.sleep(0.2)
    return answer


def _agent_texts(thread: dict[str, Any]) -> list[str]:
    return [
        item["text"]
        for turn in thread["turns"]
        for item in turn["items"]
        if item["type"] == "agentMessage"
    ]


class Cluster:
    def __init__(self, tmp: Path, nats: tuple[str, str], dsn: str) -> None:
        self.tmp, self.log, self.dsn = tmp, log_url(nats), dsn
        self.schema = f"m_{uuid.uuid4().hex[:12]}"

    def home(self, name: str) -> Path:
        home = self.tmp / name
        home.mkdir(exist_ok=True)
        return home

    def flags(self, host: str) -> tuple[str, ...]:
        return _flags(self.log, self.dsn, self.schema, host)


@asynccontextmanager
async def two_hosts(cluster: Cluster) -> AsyncIterator[tuple[Any, Any, RpcClient, RpcClient]]:
    """host-a and host-b serving, each with a client that has said hello."""
    async with (
        start_server(cluster.home("a"), *cluster.flags("host-a")) as a,
        start_server(cluster.home("b"), *cluster.flags("host-b")) as b,
    ):
        first, second = RpcClient(a), RpcClient(b)
        await first.initialize()
        await second.initialize()
        yield a, b, first, second


async def test_every_host_lists_every_thread_and_one_owns_it(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    cluster = Cluster(tmp_path, nats_server_info, postgres_dsn)
    home_a, home_b = cluster.home("a"), cluster.home("b")
    async with start_server(home_a, *cluster.flags("host-a")) as a:
        first = RpcClient(a)
        await first.initialize()
        tid = (await first.result("thread/start", {"cwd": str(home_a)}))["thread"]["id"]
        await _turn(first, tid, "hello")
        async with start_server(home_b, *cluster.flags("host-b")) as b:
            second = RpcClient(b)
            await second.initialize()
            listed = await second.result("thread/list", {})
            assert [t["id"] for t in listed["data"]] == [tid]
            assert listed["data"][0]["path"].startswith("nats://")
            refused = await second.call("thread/resume", {"threadId": tid})
            assert "owned by host host-a" in refused["error"]["message"]
            read = await second.result("thread/read", {"threadId": tid, "includeTurns": True})
            assert _agent_texts(read["thread"]) == ["Echo: hello"]  # reading needs no lease
            await close_server(a)
            await _take_over(second, tid)
            await _turn(second, tid, "again")
            await close_server(b)
    assert not any(home_a.rglob("*.jsonl")) and not any(home_b.rglob("*.jsonl"))  # all remote
    async with start_server(cluster.home("c"), *cluster.flags("host-c")) as c:
        third = RpcClient(c)
        await third.initialize()
        read = await third.result("thread/read", {"threadId": tid, "includeTurns": True})
        assert _agent_texts(read["thread"]) == ["Echo: hello", "Echo: again"]
        await close_server(c)


async def test_a_host_killed_mid_turn_loses_no_acknowledged_event(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    cluster = Cluster(tmp_path, nats_server_info, postgres_dsn)
    async with start_server(cluster.home("a"), *cluster.flags("host-a")) as a:
        first = RpcClient(a)
        await first.initialize()
        tid = (await first.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        turn = {"threadId": tid, "input": [{"type": "text", "text": _slow_turn(200)}]}
        await first.result("turn/start", turn)
        await first.until("item/completed", 12)
        a.kill()  # SIGKILL mid-turn
        await a.wait()
    acked = [
        n["params"]["item"]["text"]
        for n in first.notifications
        if n["method"] == "item/completed" and n["params"]["item"]["type"] == "agentMessage"
    ]
    assert len(acked) >= 5
    async with start_server(cluster.home("b"), *cluster.flags("host-b")) as b:
        second = RpcClient(b)
        await second.initialize()
        await _take_over(second, tid)  # after host-a's lease ran out
        read = await second.result("thread/read", {"threadId": tid, "includeTurns": True})
        logged = _agent_texts(read["thread"])
        assert logged[: len(acked)] == acked  # every acknowledged message is in the log
        assert len(logged) < 200 and read["thread"]["turns"][0]["status"] == "interrupted"
        await _turn(second, tid, "after")
        await close_server(b)


async def test_a_paused_owner_whose_lease_was_taken_over_is_fenced_out(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    cluster = Cluster(tmp_path, nats_server_info, postgres_dsn)
    async with two_hosts(cluster) as (a, b, first, second):
        tid = (await first.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        await _turn(first, tid, "one")
        os.kill(a.pid, signal.SIGSTOP)  # host-a stops renewing, its thread still loaded
        try:
            await _take_over(second, tid)
            await _turn(second, tid, "two")
        finally:
            os.kill(a.pid, signal.SIGCONT)
        turn = {"threadId": tid, "input": [{"type": "text", "text": "stale"}]}
        refused = await first.call("turn/start", turn)  # host-a still believes it owns it
        assert refused["error"]["code"] == -32600
        assert "taken over by another host" in refused["error"]["message"]
        again = await first.call("thread/resume", {"threadId": tid})
        assert "owned by host host-b" in again["error"]["message"]
        read = await second.result("thread/read", {"threadId": tid, "includeTurns": True})
        assert _agent_texts(read["thread"]) == ["Echo: one", "Echo: two"]  # nothing of A's
        await close_server(a)
        await close_server(b)


async def test_changes_to_a_thread_another_host_owns_are_refused_naming_it(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    cluster = Cluster(tmp_path, nats_server_info, postgres_dsn)
    async with two_hosts(cluster) as (a, b, first, second):
        tid = (await first.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        await _turn(first, tid, "mine")
        for method, params in (
            ("thread/name/set", {"threadId": tid, "name": "taken"}),
            ("thread/archive", {"threadId": tid}),
            ("thread/delete", {"threadId": tid}),
        ):
            refused = await second.call(method, params)
            assert "owned by host host-a" in refused["error"]["message"], (method, refused)
        await first.result("thread/name/set", {"threadId": tid, "name": "kept"})  # the owner can
        await close_server(a)
        await second.result("thread/archive", {"threadId": tid})  # free now: host-b may
        listed = await second.result("thread/list", {"archived": True})
        assert [(t["id"], t["name"]) for t in listed["data"]] == [(tid, "kept")]
        read = await second.result("thread/read", {"threadId": tid, "includeTurns": True})
        assert _agent_texts(read["thread"]) == ["Echo: mine"]
        await close_server(b)
    async with start_server(cluster.home("c"), *cluster.flags("host-c")) as c:
        third = RpcClient(c)
        await third.initialize()
        back = await third.result("thread/unarchive", {"threadId": tid})  # host-b gave it back
        assert back["thread"]["id"] == tid
        await close_server(c)
