"""Plan mode: `<proposed_plan>` blocks stream as a plan item, persisted and rebuilt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.runtime_helpers import drain, live_equals_log, open_runtime, script
from threadlog.events.event_msgs import ItemCompleted
from threadlog.events.response_items import Message, OutputText
from threadlog.events.thread_items import AgentMessageItem, PlanItem
from threadlog.store.reader import read_items

PLANNED = (
    "Here is my plan.\n<proposed_plan>\n# Plan\n- step one\n- step two\n</proposed_plan>\n"
    "Shall I go ahead?"
)


def _say(text: str, chunks: int = 9) -> list[Any]:
    return script([{"type": "say", "text": text, "chunks": chunks}])


def _items(thread: Any) -> list[Any]:
    return [i for t in thread.turns for i in t.items]


@pytest.mark.parametrize("chunks", [1, 9, len(PLANNED)])
async def test_plan_text_streams_as_a_plan_item_and_the_message_is_stripped(
    tmp_path: Path, chunks: int
) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        async with rt.subscribe(thread.id) as notes:
            await rt.start_turn(thread.id, _say(PLANNED, chunks), collaboration_mode="plan")
            await rt.wait_turn(thread.id)
            seen = [(n.method, msgspec.to_builtins(n.params)) for n in drain(notes)]
        plan_deltas = "".join(p["delta"] for m, p in seen if m == "item/plan/delta")
        agent_deltas = "".join(p["delta"] for m, p in seen if m == "item/agentMessage/delta")
        assert plan_deltas == "# Plan\n- step one\n- step two\n"
        assert agent_deltas == "Here is my plan.\nShall I go ahead?"
        plan_notes = [
            (m, p["item"]["text"])
            for m, p in seen
            if m in ("item/started", "item/completed") and p["item"]["type"] == "plan"
        ]
        assert plan_notes == [("item/started", ""), ("item/completed", plan_deltas)]
        live = await rt.read_thread(thread.id, include_turns=True)
        assert live_equals_log(live)
    items = read_items(Path(live.path or ""))
    (completed,) = [i for i in items if isinstance(i, ItemCompleted)]
    assert completed.item["type"] == "Plan" and completed.item["text"] == plan_deltas
    # The model's own history keeps what it said, tags and all.
    said = [i for i in items if isinstance(i, Message) and i.role == "assistant"]
    assert [p.text for p in said[-1].content if isinstance(p, OutputText)] == [PLANNED]
    async with open_runtime(tmp_path) as rt:
        resumed = await rt.resume_thread(thread.id)
    kinds = [(type(i), getattr(i, "text", None)) for i in _items(resumed)[1:]]
    assert kinds == [
        (PlanItem, "# Plan\n- step one\n- step two\n"),
        (AgentMessageItem, "Here is my plan.\nShall I go ahead?"),
    ]


async def test_an_unterminated_plan_closes_at_the_end_of_the_message(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        steps = [
            {"type": "say", "text": "Intro\n<proposed_plan>\n- only step", "chunks": 4},
            {"type": "say", "text": "A second message."},
        ]
        await rt.start_turn(thread.id, script(steps), collaboration_mode="plan")
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    texts = [(type(i).__name__, getattr(i, "text", None)) for i in _items(live)[1:]]
    assert texts == [
        ("PlanItem", "- only step"),
        ("AgentMessageItem", "Intro\n"),
        ("AgentMessageItem", "A second message."),
    ]
    assert live_equals_log(live)


async def test_a_plan_only_message_has_no_empty_agent_message(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        text = "<proposed_plan>\n- a\n</proposed_plan>\n"
        await rt.start_turn(thread.id, _say(text, 3), collaboration_mode="plan")
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert [type(i) for i in _items(live)[1:]] == [PlanItem]
    assert live_equals_log(live)


async def test_default_mode_leaves_the_tags_in_the_message(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, _say(PLANNED))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert [getattr(i, "text", None) for i in _items(live)[1:]] == [PLANNED]


async def test_serve_plan_mode_end_to_end_and_after_restart(tmp_path: Path) -> None:
    steps = [{"type": "say", "text": PLANNED, "chunks": 5}]
    turn_input = [{"type": "text", "text": "#script\n" + json.dumps(steps), "text_elements": []}]
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        mode = {"mode": "plan", "settings": {"model": "scripted"}}
        await client.result(
            "turn/start", {"threadId": tid, "input": turn_input, "collaborationMode": mode}
        )
        await client.until("turn/completed")
        deltas = [n["params"] for n in client.notifications if n["method"] == "item/plan/delta"]
        assert "".join(d["delta"] for d in deltas) == "# Plan\n- step one\n- step two\n"
        completed = [
            n["params"]["item"]
            for n in client.notifications
            if n["method"] == "item/completed" and n["params"]["item"]["type"] == "plan"
        ]
        assert [c["id"] for c in completed] == [deltas[0]["itemId"]]
        await close_server(process)
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
        items = read["thread"]["turns"][0]["items"]
        assert [i["type"] for i in items] == ["userMessage", "plan", "agentMessage"]
        assert items[1]["text"] == "# Plan\n- step one\n- step two\n"
        assert items[2]["text"] == "Here is my plan.\nShall I go ahead?"
