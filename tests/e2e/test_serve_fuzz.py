"""Hostile JSON-RPC against a real ``threadlog serve``: every request is answered exactly
once, the server never exits, and nothing outside the home is touched."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import trio

from tests.support.corpus import copy_codex_home
from tests.support.rpc_client import RpcClient, close_server, start_server

METHODS = (
    "thread/start",
    "thread/resume",
    "thread/fork",
    "thread/list",
    "thread/read",
    "thread/turns/list",
    "thread/archive",
    "thread/unarchive",
    "thread/name/set",
    "thread/rollback",
    "thread/compact/start",
    "thread/loaded/list",
    "turn/start",
    "turn/interrupt",
    "thread/realtime/start",
    "no/such/method",
)
PARAM_NAMES = (
    "threadId",
    "cursor",
    "limit",
    "name",
    "input",
    "cwd",
    "sortKey",
    "sortDirection",
    "modelProviders",
    "sourceKinds",
    "includeTurns",
    "numTurns",
    "turnId",
    "archived",
    "searchTerm",
    "itemsView",
)
HOSTILE_STRINGS = (
    "../../../etc/passwd",
    "/etc/shadow",
    "01a20ab1-2c33-7ea3-bc90-12778727d285/../../x",
    "\u0000",
    "\ud800",
    "x" * 100_000,
    "",
    "ﬀ" * 50,
    "'; DROP TABLE threads; --",
    "tl1.eyJrIjoiY3JlYXRlZF9hdCIsInQiOi0xLCJpIjoiLi4vLi4vIn0",
    '{"requestedThreadId":"01a20ab1-2c33-7ea3-bc90-12778727d285","rolloutOrdinal":1e309}',
)


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any type, often the wrong one, sometimes huge or deep."""
    pick = rng.randrange(12)
    if pick == 0:
        return rng.choice(HOSTILE_STRINGS)
    if pick == 1:
        return rng.choice([0, -1, 2**63, -(2**63) - 1, 10**30, 1.5, float("1e308")])
    if pick == 2:
        return rng.choice([True, False, None])
    if pick == 3 and depth < 3:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 4 and depth < 3:
        return {rng.choice(PARAM_NAMES): hostile_value(rng, depth + 1) for _ in range(3)}
    if pick == 5:
        return [[[[[[[[[[1]]]]]]]]]] * 3
    return rng.choice((*HOSTILE_STRINGS, "01a20ab1-2c33-7ea3-bc90-12778727d285"))


def readable_id(line: bytes) -> str | None:
    """The id a server can read from a line: none when the line is not JSON at all (bad
    UTF-8, nested too deep), which JSON-RPC answers with a null id."""
    try:
        message = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    rid = message.get("id") if isinstance(message, dict) else None
    return rid if isinstance(rid, str) else None


def hostile_lines(rng: random.Random, count: int) -> tuple[list[bytes], set[str]]:
    """Lines to send, and the ids of the requests among them (each must get one answer)."""
    lines: list[bytes] = []
    ids: set[str] = set()
    for n in range(count):
        kind = rng.randrange(10)
        if kind == 0:
            lines.append(rng.choice([b"{", b"[" * 100_000, b"\xff\xfe", b"nul\x00l", b"[]", b"42"]))
            continue
        rid = f"f{n}"
        params: Any = {
            name: hostile_value(rng) for name in rng.sample(PARAM_NAMES, rng.randrange(5))
        }
        if kind == 1:
            params = hostile_value(rng)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": rng.choice(METHODS)}
        message["params"] = params
        if kind == 2:  # nested deeper than any parser's stack: written out by hand
            deep = "[" * 5000 + "]" * 5000
            text = (
                f'{{"jsonrpc":"2.0","id":"{rid}","method":"thread/read","params":{{"x":{deep}}}}}'
            )
        else:
            text = json.dumps(message, ensure_ascii=rng.random() < 0.5)
        line = text.encode("utf-8", "surrogatepass")  # lone surrogates become bad UTF-8
        lines.append(line)
        readable = readable_id(line)
        if readable is not None:
            ids.add(readable)
    return lines, ids


async def test_thousands_of_hostile_messages_are_each_answered_once(tmp_path: Path) -> None:
    home = copy_codex_home("0.105.0", tmp_path / "home")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if home not in p.parents}
    lines, ids = hostile_lines(random.Random(20261202), 2000)
    async with start_server(home) as process:
        client = RpcClient(process)
        # before initialize: answered, not served
        early = await client.call("thread/list", {})
        assert early["error"]["message"] == "Not initialized"
        await client.initialize()
        answered: dict[str, int] = {}
        errors_without_id = 0

        async def read_all() -> None:
            nonlocal errors_without_id
            while len(answered) < len(ids):
                message = await client.read_message()
                if "method" in message:
                    if "id" in message:  # a server request (approval, tool): decline it
                        await client.respond(message["id"], {"decision": "decline"})
                    continue
                if message.get("id") is None:
                    errors_without_id += 1
                    continue
                answered[message["id"]] = answered.get(message["id"], 0) + 1

        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_all)
                for line in lines:
                    await client.send_raw(line + b"\n")
        assert set(answered) == ids and set(answered.values()) == {1}
        assert errors_without_id > 0  # unparseable lines got their error too
        assert process.returncode is None
        alive = await client.result("thread/list", {"limit": 1, "modelProviders": []})
        assert len(alive["data"]) == 1
        await close_server(process)
    after = {
        p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if home not in p.parents and p != home
    }
    assert {p: t for p, t in after.items() if p != home} == {
        p: t for p, t in before.items() if p != home
    }
    assert (outside / "keep.txt").read_text() == "untouched"
