"""Dynamic (client-side) tools: declared at start, stored, called through the host, rebuilt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.runtime_helpers import drain, live_equals_log, open_runtime, script
from threadlog.actors.drivers.protocol import DynamicToolResult, TurnHandle, TurnRequest
from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.thread_items import DynamicToolCallItem
from threadlog.events.tool_events import DynamicToolCallResponse
from threadlog.store.reader import read_items
from threadlog.store.statedb import StateDb

LOOKUP = DynamicToolSpec(
    name="lookup",
    description="look a word up",
    input_schema={"type": "object", "properties": {"word": {"type": "string"}}},
)
CALL = [{"type": "tool", "tool": "lookup", "arguments": {"word": "trio"}}]


class ToolSeeingDriver:
    """Records the tools each turn was offered, then answers like the scripted driver."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []
        self.inner = ScriptedDriver()

    async def run_turn(self, request: TurnRequest, turn: TurnHandle) -> None:
        """Note the offered tools, then run the script."""
        self.seen.append([t.name for t in request.dynamic_tools])
        await self.inner.run_turn(request, turn)


async def answer(thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any) -> Any:
    """A host that knows one tool."""
    assert tool == "lookup"
    return DynamicToolResult(
        success=True, content_items=[{"type": "inputText", "text": f"{arguments['word']}: ok"}]
    )


def _tool_items(thread: Any) -> list[DynamicToolCallItem]:
    return [i for t in thread.turns for i in t.items if isinstance(i, DynamicToolCallItem)]


@pytest.mark.parametrize("extended", [True, False])
async def test_a_call_goes_to_the_host_and_is_rebuilt_after_restart(
    tmp_path: Path, extended: bool
) -> None:
    driver = ToolSeeingDriver()
    async with open_runtime(tmp_path, driver=driver, dynamic_tool_handler=answer) as rt:
        thread = await rt.start_thread(dynamic_tools=[LOOKUP], persist_extended_history=extended)
        async with rt.subscribe(thread.id) as notes:
            await rt.start_turn(thread.id, script(CALL))
            await rt.wait_turn(thread.id)
            seen = [(n.method, msgspec.to_builtins(n.params)) for n in drain(notes)]
        tool_notes = [
            (method, params["item"])
            for method, params in seen
            if method.startswith("item/") and params["item"]["type"] == "dynamicToolCall"
        ]
        assert [(m, i["status"]) for m, i in tool_notes] == [
            ("item/started", "inProgress"),
            ("item/completed", "completed"),
        ]
        assert tool_notes[0][1]["arguments"] == {"word": "trio"}
        live = await rt.read_thread(thread.id, include_turns=True)
        assert live_equals_log(live)
    assert driver.seen == [["lookup"]]
    async with open_runtime(tmp_path, driver=driver, dynamic_tool_handler=answer) as rt:
        resumed = await rt.resume_thread(thread.id)
        items = _tool_items(resumed)
        if extended:
            assert len(items) == 1
            assert items[0].status == "completed" and items[0].success is True
            assert items[0].content_items == [{"type": "inputText", "text": "trio: ok"}]
            assert items[0].arguments == {"word": "trio"}
        else:
            assert items == []  # limited mode does not persist the call events (Codex's policy)
        await rt.start_turn(resumed.id, script([{"type": "say", "text": "again"}]))
        await rt.wait_turn(resumed.id)
    assert driver.seen == [["lookup"], ["lookup"]]


async def test_tools_are_read_from_the_database_first_and_the_log_without_one(
    tmp_path: Path,
) -> None:
    driver = ToolSeeingDriver()
    async with open_runtime(tmp_path, driver=driver, dynamic_tool_handler=answer) as rt:
        thread = await rt.start_thread(dynamic_tools=[LOOKUP])
        await rt.start_turn(thread.id, script([{"type": "say", "text": "hi"}]))
        await rt.wait_turn(thread.id)
        await rt.flush_index()
    db = StateDb.for_home(tmp_path)
    try:
        assert [t.name for t in db.get_dynamic_tools(thread.id) or []] == ["lookup"]
        # Give the database a different answer than the log, to see which one is read.
        with db.transaction() as conn:
            conn.execute(
                "UPDATE thread_dynamic_tools SET name = 'lookup_v2' WHERE thread_id = ?",
                (thread.id,),
            )
    finally:
        db.close()
    turn = script([{"type": "say", "text": "again"}])
    async with open_runtime(tmp_path, driver=driver, dynamic_tool_handler=answer) as rt:
        await rt.start_turn(thread.id, turn)
        await rt.wait_turn(thread.id)
    async with open_runtime(tmp_path, driver=driver, index=False) as rt:
        await rt.start_turn(thread.id, turn)
        await rt.wait_turn(thread.id)
    assert driver.seen == [["lookup"], ["lookup_v2"], ["lookup"]]


async def _never(*args: Any) -> Any:
    await trio.sleep_forever()


async def _broken(*args: Any) -> Any:
    raise RuntimeError("host crashed")


@pytest.mark.parametrize(
    ("handler", "message"),
    [(_never, "got no answer"), (_broken, "host crashed"), (None, "no handler")],
)
async def test_a_host_that_does_not_answer_fails_the_call_not_the_turn(
    tmp_path: Path, handler: Any, message: str
) -> None:
    async with open_runtime(tmp_path, dynamic_tool_handler=handler, dynamic_tool_timeout=0.2) as rt:
        thread = await rt.start_thread(dynamic_tools=[LOOKUP], persist_extended_history=True)
        await rt.start_turn(thread.id, script([*CALL, {"type": "say", "text": "after"}]))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert live.turns[-1].status == "completed"
    (item,) = _tool_items(live)
    assert item.status == "failed" and item.success is False
    assert live_equals_log(live)
    (response,) = [
        i for i in read_items(Path(live.path or "")) if isinstance(i, DynamicToolCallResponse)
    ]
    assert message in (response.error or "")


async def test_an_interrupt_during_a_call_ends_it_failed(tmp_path: Path) -> None:
    async with open_runtime(tmp_path, dynamic_tool_handler=_never) as rt:
        thread = await rt.start_thread(dynamic_tools=[LOOKUP], persist_extended_history=True)
        turn = await rt.start_turn(thread.id, script(CALL))
        with trio.fail_after(10):
            while not _tool_items(await rt.read_thread(thread.id, include_turns=True)):
                await trio.sleep(0.01)
        await rt.interrupt_turn(thread.id, turn.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert live.turns[-1].status == "interrupted"
    assert [i.status for i in _tool_items(live)] == ["failed"]
    assert live_equals_log(live)


def _text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value, "text_elements": []}]


async def test_serve_item_tool_call_round_trip_rebuilt_after_restart(tmp_path: Path) -> None:
    tool = {
        "name": LOOKUP.name,
        "description": LOOKUP.description,
        "inputSchema": LOOKUP.input_schema,
    }
    script_text = "#script\n" + json.dumps([*CALL, {"type": "say", "text": "done"}])
    async with start_server(tmp_path, "--dynamic-tool-timeout", "1") as process:
        client = RpcClient(process)
        await client.initialize()
        started = await client.result(
            "thread/start",
            {"cwd": str(tmp_path), "dynamicTools": [tool], "persistExtendedHistory": True},
        )
        tid = started["thread"]["id"]
        turn = (await client.result("turn/start", {"threadId": tid, "input": _text(script_text)}))[
            "turn"
        ]
        request = await client.server_request("item/tool/call")
        params = request["params"]
        assert (params["threadId"], params["turnId"], params["tool"]) == (tid, turn["id"], "lookup")
        assert params["arguments"] == {"word": "trio"}
        # An answer to a request the server never made is ignored, not fatal.
        await client.respond(987654, {"success": True, "contentItems": []})
        await client.respond(
            request["id"], {"success": True, "contentItems": [{"type": "inputText", "text": "42"}]}
        )
        await client.until("turn/completed")
        tool_notes = [
            n
            for n in client.notifications
            if n["method"] in ("item/started", "item/completed")
            and n["params"]["item"]["type"] == "dynamicToolCall"
        ]
        assert [(n["method"], n["params"]["item"]["status"]) for n in tool_notes] == [
            ("item/started", "inProgress"),
            ("item/completed", "completed"),
        ]
        assert tool_notes[1]["params"]["item"]["contentItems"] == [
            {"type": "inputText", "text": "42"}
        ]
        # A second call the client never answers fails after the timeout; the server goes on.
        await client.result("turn/start", {"threadId": tid, "input": _text(script_text)})
        await client.server_request("item/tool/call")
        completed = await client.until("turn/completed", 2)
        assert completed[-1]["params"]["turn"]["status"] == "completed"
        failed = [
            n
            for n in client.notifications
            if n["method"] == "item/completed" and n["params"]["item"]["type"] == "dynamicToolCall"
        ]
        assert failed[-1]["params"]["item"]["status"] == "failed"
        await close_server(process)
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        resumed = await client.result("thread/resume", {"threadId": tid})
        items = [
            i
            for t in resumed["thread"]["turns"]
            for i in t["items"]
            if i["type"] == "dynamicToolCall"
        ]
        assert [i["status"] for i in items] == ["completed", "failed"]
        assert items[0]["contentItems"] == [{"type": "inputText", "text": "42"}]
