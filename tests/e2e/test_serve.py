"""``threadlog serve`` end to end, in a subprocess, with a real client over pipes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.schemas import assert_transcript_valid
from threadlog.events.event_msgs import AgentMessage, TurnAborted
from threadlog.store.reader import read_items


def _text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value, "text_elements": []}]


def _script(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _text("#script\n" + json.dumps(steps))


async def test_end_to_end_session(tmp_path: Path) -> None:
    transcript = tmp_path / "transcript.jsonl"
    async with start_server(tmp_path, transcript=transcript) as process:
        client = RpcClient(process)
        agent = await client.initialize()
        assert agent["userAgent"].startswith("threadlog/")
        started = await client.result("thread/start", {"cwd": str(tmp_path)})
        thread = started["thread"]
        assert started["sandbox"] == {"type": "dangerFullAccess"} and thread["turns"] == []
        tid = thread["id"]
        for word in ("first", "second"):
            turn = (await client.result("turn/start", {"threadId": tid, "input": _text(word)}))[
                "turn"
            ]
            assert turn["status"] == "inProgress" and turn["items"] == []
            done = await client.until("turn/completed", 1 if word == "first" else 2)
            assert done[-1]["params"]["turn"]["id"] == turn["id"]
            assert done[-1]["params"]["turn"]["status"] == "completed"
        per_turn = [n["method"] for n in client.notifications]
        assert per_turn[:12] == [
            "thread/started",
            "thread/status/changed",  # active, as 0.171 says before each turn
            "turn/started",
            "item/started",
            "item/completed",
            "item/started",
            "item/agentMessage/delta",
            "item/completed",
            "turn/completed",
            "thread/status/changed",  # idle again
            "thread/status/changed",
            "turn/started",
        ]
        statuses = [
            n["params"]["status"]["type"]
            for n in client.notifications
            if n["method"] == "thread/status/changed"
        ]
        assert statuses[:3] == ["active", "idle", "active"]
        assert await client.result("thread/name/set", {"threadId": tid, "name": "E2E"}) == {}
        await client.until("thread/name/updated")
        fork = (await client.result("thread/fork", {"threadId": tid}))["thread"]
        assert fork["id"] != tid and len(fork["turns"]) == 2
        listed = await client.result("thread/list", {"sourceKinds": ["vscode"]})
        assert [t["id"] for t in listed["data"]] == [fork["id"], tid]
        assert listed["data"][1]["name"] == "E2E"
        read = (await client.result("thread/read", {"threadId": tid, "includeTurns": True}))[
            "thread"
        ]
        assert [t["items"][0]["content"][0]["text"] for t in read["turns"]] == ["first", "second"]
        loaded = await client.result("thread/loaded/list", {})
        assert sorted(loaded["data"]) == sorted([tid, fork["id"]])
        assert await client.result("thread/archive", {"threadId": tid}) == {}
        archived = await client.result("thread/list", {"archived": True, "sourceKinds": ["vscode"]})
        assert [t["id"] for t in archived["data"]] == [tid]
        back = (await client.result("thread/unarchive", {"threadId": tid}))["thread"]
        assert back["id"] == tid
        slow = await client.result(
            "turn/start",
            {
                "threadId": tid,
                "input": _script(
                    [{"type": "say", "text": "wait"}, {"type": "sleep", "seconds": 30}]
                ),
            },
        )
        assert (
            await client.result("turn/interrupt", {"threadId": tid, "turnId": slow["turn"]["id"]})
            == {}
        )
        completed = await client.until("turn/completed", 3)
        assert completed[-1]["params"]["turn"]["status"] == "interrupted"
        methods = [n["method"] for n in client.notifications]
        assert methods.index("thread/archived") < methods.index("thread/unarchived")
        gone = [
            n["params"]["status"]["type"]
            for n in client.notifications
            if n["method"] == "thread/status/changed" and n["params"]["threadId"] == tid
        ]
        assert "notLoaded" in gone  # archived: no longer loaded
        await close_server(process)
        assert process.returncode == 0
    items = read_items(Path(read["path"]))
    assert any(isinstance(i, TurnAborted) for i in items)
    # what both generations of clients accept: every message valid under either schema
    assert assert_transcript_valid(transcript, "0.171.0") > 40
    assert assert_transcript_valid(transcript, "0.105.0") > 40


async def test_a_long_turn_does_not_block_listing(tmp_path: Path) -> None:
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {}))["thread"]["id"]
        await client.result(
            "turn/start", {"threadId": tid, "input": _script([{"type": "sleep", "seconds": 30}])}
        )
        with trio.fail_after(5):
            listed = await client.result("thread/list", {"sourceKinds": ["vscode"]})
        assert [t["status"] for t in listed["data"]] == [{"type": "active", "activeFlags": []}]


BAD = [
    (b"{not json}\n", -32700, None),
    (b"[1, 2]\n", -32600, None),
    (b'{"id": 7}\n', -32600, 7),
    (b'{"id": {"x": 1}, "method": "thread/list"}\n', -32600, None),
    (b'{"id": 8, "method": 42}\n', -32600, 8),
    (b'{"jsonrpc": "1.0", "id": 9, "method": "thread/list"}\n', -32600, 9),
    (b'{"id": 10, "method": "thread/teleport", "params": {}}\n', -32601, 10),
    (b'{"id": 11, "method": "thread/read", "params": {"threadId": 5}}\n', -32602, 11),
    (b'{"id": 12, "method": "thread/read", "params": {}}\n', -32602, 12),
    (b'{"id": 13, "method": "thread/read", "params": {"threadId": "../../etc"}}\n', -32600, 13),
    (b'{"id": 14, "method": "thread/list", "params": {"cursor": "forged"}}\n', -32600, 14),
    (b'{"id": 15, "method": "thread/list", "params": {"sourceKinds": ["martian"]}}\n', -32600, 15),
    (
        b'{"id": 16, "method": "thread/rollback", "params": '
        b'{"threadId": "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c", "numTurns": 0}}\n',
        -32600,
        16,
    ),
]


async def test_bad_input_never_stops_the_server(tmp_path: Path) -> None:
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        early = await client.call("thread/list", {})
        assert early["error"] == {"code": -32600, "message": "Not initialized"}
        await client.initialize()
        again = await client.call("initialize", {"clientInfo": {"name": "x"}})
        assert again["error"]["message"] == "Already initialized"
        for raw, code, request_id in BAD:
            await client.send_raw(raw)
            with trio.fail_after(10):
                message = await client.read_message()
            assert message["error"]["code"] == code, (raw, message)
            assert message["id"] == request_id, (raw, message)
        # a 10 MB line of garbage, then a 10 MB valid request: both answered, server alive
        await client.send_raw(b"x" * (10 << 20) + b"\n")
        with trio.fail_after(30):
            assert (await client.read_message())["error"]["code"] == -32700
        tid = (await client.result("thread/start", {}))["thread"]["id"]
        big = "y" * (10 << 20)
        turn = await client.result("turn/start", {"threadId": tid, "input": _text(big)})
        assert turn["turn"]["status"] == "inProgress"
        await client.until("turn/completed")
        listed = await client.result("thread/list", {"sourceKinds": ["vscode"]})
        assert len(listed["data"]) == 1 and listed["data"][0]["preview"] == big


async def test_closed_stdin_shuts_down_with_every_acknowledged_event_on_disk(
    tmp_path: Path,
) -> None:
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {}))["thread"]["id"]
        steps = [{"type": "say", "text": f"m{n}"} for n in range(5)] + [
            {"type": "sleep", "seconds": 30}
        ]
        await client.result("turn/start", {"threadId": tid, "input": _script(steps)})
        acked = await client.until("item/completed", 6)  # the user message and five replies
        await close_server(process)
        assert process.returncode == 0
    path = next(tmp_path.rglob(f"rollout-*{tid}.jsonl"))
    items = read_items(path)
    said = [i.message for i in items if isinstance(i, AgentMessage)]
    assert said == [
        n["params"]["item"]["text"] for n in acked if n["params"]["item"]["type"] == "agentMessage"
    ]
    assert isinstance(items[-1], TurnAborted)  # the running turn was ended, not lost


async def test_script_file_drives_named_scripts(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts.json"
    scripts.write_text(json.dumps({"hello": [{"type": "say", "text": "hi from a script file"}]}))
    async with start_server(tmp_path, "--script-file", str(scripts)) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {}))["thread"]["id"]
        await client.result("turn/start", {"threadId": tid, "input": _text("please [[hello]]")})
        await client.until("turn/completed")
        texts = [
            n["params"]["item"].get("text")
            for n in client.notifications
            if n["method"] == "item/completed"
        ]
        assert "hi from a script file" in texts


async def test_a_client_can_opt_out_of_notification_methods(tmp_path: Path) -> None:
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.result(
            "initialize",
            {
                "clientInfo": {"name": "tests", "version": "1"},
                "capabilities": {"optOutNotificationMethods": ["item/agentMessage/delta", 7]},
            },
        )
        tid = (await client.result("thread/start", {}))["thread"]["id"]
        await client.result(
            "turn/start", {"threadId": tid, "input": [{"type": "text", "text": "hi"}]}
        )
        await client.until("turn/completed")
        methods = {n["method"] for n in client.notifications}
        assert "item/completed" in methods and "item/agentMessage/delta" not in methods
