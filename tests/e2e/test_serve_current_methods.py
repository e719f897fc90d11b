"""0.171's thread methods in ``threadlog serve``: ``thread/revert`` (a new file of the thread,
as Codex writes it), ``thread/unsubscribe``, the session methods the TUI calls, and
``thread/list`` by ``recency_at`` and by section; every message valid under 0.171's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import threadlog_on
from tests.support.corpus import copy_codex_home
from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.schemas import assert_transcript_valid


def _text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value, "text_elements": []}]


async def _turn(client: RpcClient, tid: str, text: str) -> str:
    done_before = len([n for n in client.notifications if n["method"] == "turn/completed"])
    turn = await client.result("turn/start", {"threadId": tid, "input": _text(text)})
    await client.until("turn/completed", done_before + 1)
    return str(turn["turn"]["id"])


async def _texts(client: RpcClient, tid: str) -> list[str]:
    read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
    return [t["items"][0]["content"][0]["text"] for t in read["thread"]["turns"]]


def _files(home: Path, tid: str) -> list[Path]:
    return sorted((home / "sessions").rglob(f"rollout-*{tid}*.jsonl"))


async def test_revert_writes_a_new_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    transcript = tmp_path / "transcript.jsonl"
    async with start_server(home, transcript=transcript) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        ids = [await _turn(client, tid, word) for word in ("first", "second", "third")]
        (original,) = _files(home, tid)
        before = original.read_bytes()

        reverted = await client.result("thread/revert", {"threadId": tid, "beforeTurnId": ids[1]})
        assert reverted["thread"]["id"] == tid and reverted["thread"]["turns"] == []
        assert await client.until("thread/reverted") == [
            {"method": "thread/reverted", "params": {"threadId": tid}}
        ]
        assert await _texts(client, tid) == ["first"]
        # the earlier file is untouched; the new one is the thread's later file, by reference
        files = _files(home, tid)
        assert len(files) == 2 and files[0] == original and original.read_bytes() == before
        assert files[1].name.startswith("rollout-") and f"{tid}_" in files[1].name
        meta = json.loads(files[1].read_text().splitlines()[0])
        assert meta["type"] == "session_meta" and meta["payload"]["id"] == tid
        base = meta["payload"]["history_base"]
        assert base["thread_id"] == tid
        assert before[: base["end_byte_offset"]].endswith(b"\n")
        assert b'"first"' in before[: base["end_byte_offset"]]
        assert b'"second"' not in before[: base["end_byte_offset"]]

        # the thread goes on from there, and the turns list agrees with read
        await _turn(client, tid, "fourth")
        assert await _texts(client, tid) == ["first", "fourth"]
        turns = await client.result("thread/turns/list", {"threadId": tid})
        assert [t["items"][0]["content"][0]["text"] for t in reversed(turns["data"])] == [
            "first",
            "fourth",
        ]

        items = await client.result("thread/items/list", {"threadId": tid, "limit": 2})
        first_page = [(e["turnId"], e["item"]["type"]) for e in items["data"]]
        assert first_page == [(ids[0], "userMessage"), (ids[0], "agentMessage")]
        rest = await client.result(
            "thread/items/list", {"threadId": tid, "cursor": items["nextCursor"]}
        )
        assert [e["item"]["type"] for e in rest["data"]] == ["userMessage", "agentMessage"]
        assert rest["nextCursor"] is None and rest["data"][0]["turnId"] not in ids
        earlier = await client.call("thread/revert", {"threadId": tid, "beforeTurnId": ids[0]})
        assert "before an earlier revert" in earlier["error"]["message"]
        assert len(_files(home, tid)) == 2  # a refused revert writes nothing
        # our fork copies its parent's lines, so its turns are its own to revert
        fork = (await client.result("thread/fork", {"threadId": tid}))["thread"]["id"]
        await client.result("thread/revert", {"threadId": fork, "beforeTurnId": ids[0]})
        assert await _texts(client, fork) == [] and await _texts(client, tid) == [
            "first",
            "fourth",
        ]
        unknown = await client.call("thread/revert", {"threadId": tid, "beforeTurnId": "nope"})
        assert (
            unknown["error"]["code"] == -32600 and "has no turn nope" in unknown["error"]["message"]
        )
        bad = await client.call("thread/revert", {"threadId": "../etc", "beforeTurnId": ids[0]})
        assert bad["error"]["code"] == -32600 and "invalid thread id" in bad["error"]["message"]
        await close_server(process)
    assert assert_transcript_valid(transcript, "0.171.0") > 20
    # a new process reads the reverted thread from the files (and the index) the same way
    read = json.loads(threadlog_on(home, "read", tid, "--turns", "--json").stdout)
    assert [t["items"][0]["content"][0]["text"] for t in read["thread"]["turns"]] == [
        "first",
        "fourth",
    ]
    listed = json.loads(threadlog_on(home, "list", "--json", "--all-providers").stdout)["data"]
    assert [t["id"] for t in listed] == [tid]


async def test_a_running_turn_is_not_reverted(tmp_path: Path) -> None:
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        first = await _turn(client, tid, "first")
        script = "#script\n" + json.dumps([{"type": "sleep", "seconds": 30}])
        slow = await client.result("turn/start", {"threadId": tid, "input": _text(script)})
        refused = await client.call("thread/revert", {"threadId": tid, "beforeTurnId": first})
        assert "running a turn" in refused["error"]["message"]
        await client.result("turn/interrupt", {"threadId": tid, "turnId": slow["turn"]["id"]})
        await client.until("turn/completed", 2)
        assert len(_files(tmp_path, tid)) == 1  # nothing was written for the refusal
        await close_server(process)


async def test_unsubscribe_stops_a_threads_notifications_until_it_is_opened_again(
    tmp_path: Path,
) -> None:
    transcript = tmp_path / "transcript.jsonl"
    async with start_server(tmp_path, transcript=transcript) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        await _turn(client, tid, "heard")
        assert (await client.result("thread/unsubscribe", {"threadId": tid}))["status"] == (
            "unsubscribed"
        )
        again = await client.result("thread/unsubscribe", {"threadId": tid})
        assert again["status"] == "notSubscribed"
        other = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
        assert (await client.result("thread/unsubscribe", {"threadId": other}))["status"] == (
            "notLoaded"
        )
        heard = len(client.notifications)
        unheard = await client.result("turn/start", {"threadId": tid, "input": _text("unheard")})
        for _ in range(100):  # the turn ends although nobody hears of it
            read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
            if read["thread"]["turns"][-1]["status"] == "completed":
                break
        assert read["thread"]["turns"][-1]["id"] == unheard["turn"]["id"]
        await client.result("thread/resume", {"threadId": tid})
        await _turn(client, tid, "heard again")
        about = [n for n in client.notifications[heard:] if n["params"].get("threadId") == tid]
        completed = [n["params"]["turn"]["id"] for n in about if n["method"] == "turn/completed"]
        assert unheard["turn"]["id"] not in completed and len(completed) == 1
        await close_server(process)
    assert assert_transcript_valid(transcript, "0.171.0") > 10


async def test_the_tuis_session_calls_and_listings(tmp_path: Path) -> None:
    transcript = tmp_path / "transcript.jsonl"
    async with start_server(tmp_path, transcript=transcript) as process:
        client = RpcClient(process)
        await client.initialize()
        cwd = str(tmp_path)
        hooks = await client.result("hooks/list", {"cwds": [cwd]})
        assert hooks == {"data": [{"cwd": cwd, "hooks": [], "errors": [], "warnings": []}]}
        assert (await client.result("plugin/installed", {"cwds": [cwd]}))["marketplaces"] == []
        modes = await client.result("collaborationMode/list", {})
        assert [m["mode"] for m in modes["data"]] == ["default", "plan"]
        gov = await client.result("account/bedrock/checkGovCloudRequirements", {})
        assert gov == {"isGovCloud": False, "shouldWarn": False}
        tids = []
        for word in ("older", "newer"):
            tid = (await client.result("thread/start", {"cwd": cwd}))["thread"]["id"]
            await _turn(client, tid, word)
            tids.append(tid)
        await _turn(client, tids[0], "older again")  # a later turn: the older thread is recent
        everyone = {"modelProviders": [], "sourceKinds": []}
        by_recency = await client.result("thread/list", {**everyone, "sortKey": "recency_at"})
        by_creation = await client.result("thread/list", {**everyone, "sortKey": "created_at"})
        assert {t["id"] for t in by_recency["data"]} == set(tids)
        assert [t["id"] for t in by_creation["data"]] == tids[::-1]
        assert by_recency["data"][0]["recencyAt"] >= by_recency["data"][1]["recencyAt"]
        section = await client.result(
            "thread/list", {**everyone, "sortKey": "section_position", "sectionId": tids[0]}
        )
        assert section["data"] == []  # threadlog keeps no sections: nothing is in one
        assert (await client.result("threadSection/list", {}))["data"] == []
        unsectioned = await client.call("thread/list", {"sortKey": "section_position"})
        assert "sectionId" in unsectioned["error"]["message"]
        await close_server(process)
    assert assert_transcript_valid(transcript, "0.171.0") > 10


@pytest.mark.parametrize("extended", [False, True])
async def test_reasoning_tokens_and_patches_are_notified_as_0171_does(
    tmp_path: Path, extended: bool
) -> None:
    transcript = tmp_path / "transcript.jsonl"
    flags = ("--persist-extended",) if extended else ()
    async with start_server(tmp_path, *flags, transcript=transcript) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        steps = [
            {"type": "reason", "text": "Thinking it over."},
            {"type": "reason", "text": "Still thinking."},
            {"type": "tokens", "input": 100, "output": 10},
            {"type": "patch", "changes": {"a.txt": {"type": "add", "content": "x\n"}}},
            {"type": "tokens", "input": 50, "output": 5},
            {"type": "say", "text": "done"},
        ]
        await _turn(client, tid, "#script\n" + json.dumps(steps))
        seen = client.notifications
        deltas = [n["params"] for n in seen if n["method"] == "item/reasoning/summaryTextDelta"]
        parts = [n["params"] for n in seen if n["method"] == "item/reasoning/summaryPartAdded"]
        assert [(d["delta"], d["summaryIndex"]) for d in deltas] == [
            ("Thinking it over.", 0),
            ("Still thinking.", 1),
        ]
        assert [p["summaryIndex"] for p in parts] == [0, 1]
        reasoning_started = [
            n["params"]["item"]
            for n in seen
            if n["method"] == "item/started" and n["params"]["item"]["type"] == "reasoning"
        ]
        assert [r["id"] for r in reasoning_started] == [deltas[0]["itemId"]]
        usage = [
            n["params"]["tokenUsage"] for n in seen if n["method"] == "thread/tokenUsage/updated"
        ]
        assert [u["last"]["totalTokens"] for u in usage] == [110, 55]
        assert [u["total"]["totalTokens"] for u in usage] == [110, 165]
        changes = [
            (n["method"], n["params"]["item"]["status"])
            for n in seen
            if n["method"] in ("item/started", "item/completed")
            and n["params"]["item"]["type"] == "fileChange"
        ]
        assert changes == [("item/started", "inProgress"), ("item/completed", "completed")]
        done = next(
            n["params"]["item"]
            for n in seen
            if n["method"] == "item/completed" and n["params"]["item"]["type"] == "fileChange"
        )
        assert done["changes"][0]["path"].endswith("a.txt") and done["changes"][0]["diff"] == "x\n"
        assert done["startedAtMs"] <= done["completedAtMs"]
        # the read shows the reasoning as one item with both paragraphs, as streamed
        read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
        items = read["thread"]["turns"][0]["items"]
        (reasoning,) = [i for i in items if i["type"] == "reasoning"]
        assert reasoning["id"] == deltas[0]["itemId"]
        assert reasoning["summary"] == ["Thinking it over.", "Still thinking."]
        await close_server(process)
    assert assert_transcript_valid(transcript, "0.171.0") > 10
    assert assert_transcript_valid(transcript, "0.105.0") > 10


async def test_delete_removes_the_thread_and_only_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    transcript = tmp_path / "transcript.jsonl"
    async with start_server(home, transcript=transcript) as process:
        client = RpcClient(process)
        await client.initialize()
        tids = []
        for word in ("keep", "drop"):
            tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
            await _turn(client, tid, word)
            tids.append(tid)
        keep, drop = tids
        first = await _turn(client, drop, "more")
        await client.result("thread/revert", {"threadId": drop, "beforeTurnId": first})
        assert len(_files(home, drop)) == 2
        assert await client.result("thread/delete", {"threadId": drop}) == {}
        assert (await client.until("thread/deleted"))[0]["params"] == {"threadId": drop}
        assert _files(home, drop) == [] and len(_files(home, keep)) == 1
        listed = await client.result("thread/list", {"modelProviders": [], "sourceKinds": []})
        assert [t["id"] for t in listed["data"]] == [keep]
        gone = await client.call("thread/read", {"threadId": drop})
        assert gone["error"]["code"] == -32600
        again = await client.call("thread/delete", {"threadId": drop})
        assert "no rollout found" in again["error"]["message"]
        await close_server(process)
    assert assert_transcript_valid(transcript, "0.171.0") > 10
    listed_cli = json.loads(threadlog_on(home, "list", "--json", "--all-providers").stdout)
    assert [t["id"] for t in listed_cli["data"]] == [keep]


async def test_a_turn_a_fork_by_reference_inherited_is_not_reverted_to(tmp_path: Path) -> None:
    # the real 0.171 app-server fork: its parent's first turns are read through history_base
    home = copy_codex_home("0.171.0", tmp_path / "home")
    fork, parent = "01a23595-224d-7c72-ace8-050ef5046b25", "01a23595-0a44-7751-bd2b-ceb90b05bfb4"
    inherited = "01a23595-0a55-7a12-89e0-93e790144964"
    before = sorted(p.read_bytes() for p in (home / "sessions").rglob("*.jsonl"))
    async with start_server(home) as process:
        client = RpcClient(process)
        await client.initialize()
        refused = await client.call("thread/revert", {"threadId": fork, "beforeTurnId": inherited})
        assert f"inherited from thread {parent}" in refused["error"]["message"]
        await close_server(process)
    assert sorted(p.read_bytes() for p in (home / "sessions").rglob("*.jsonl")) == before
