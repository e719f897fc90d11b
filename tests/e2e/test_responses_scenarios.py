"""The 0.105.0 corpus scenarios run through ``threadlog serve --driver responses``.

The model's answers come from Codex's own requests: what the model said in answer to a
request is what the next request of that thread carries after it (the reasoning, messages
and tool calls before the tool outputs the client added); the thread's last answer is in
the golden ``thread/read``. The errors are those the manifest describes (HTTP 500, a
stream cut before ``response.completed``, ``response.failed``), with no retries, as the
corpus was made. Then:

- ``thread/read`` (from a fresh serve, the thread not loaded, as the golden was taken)
  has the golden's turns, statuses, item kinds and texts;
- the requests threadlog sent have the shape of Codex's: the same top-level keys, the same
  conversation after the contextual prefix (types and roles, in order), the shell and
  ``apply_patch`` tools;
- every message serve sent is valid under the 0.105 protocol schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.support import responses_server as rs
from tests.support.corpus import CODEX_REAL
from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.schemas import assert_transcript_valid

pytestmark = pytest.mark.corpus

ROOT = CODEX_REAL / "0.105.0"
CODEX_WORK = "/home/user/codex-real/0.105.0/work"
MODEL_OUTPUTS = {"reasoning", "function_call", "custom_tool_call"}
ERRORS: dict[str, str] = {
    "err500": "http500",
    "ext_err": "http500",
    "mixed_cut": "cut",
    "ext_cut": "cut",
    "mixed_failed": "failed",
}
SCENARIOS = {
    "a_chat": "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c",
    "b_multi_turn": "01a20ab1-1016-7a22-b0af-338a78237cd0",
    "c_shell": "01a20ab1-1415-77e2-95e6-7e01c078b2fe",
    "d_apply_patch": "01a20ab1-17dc-73f2-9cf9-69bc37b79cf4",
    "e_error_http500": "01a20ab1-1abb-7292-bb73-878686732c0c",
    "e_error_mixed": "01a20ab1-1c10-7ad1-9861-f8e4e0aae9f8",
    "ext_history": "01a20ab1-2c33-7ea3-bc90-12778727d285",
}
EXTENDED = {"ext_history"}
_MARKER = re.compile(r"\[\[S:([A-Za-z0-9_.-]+)\]\]")


def codex_requests(thread_id: str) -> list[dict[str, Any]]:
    """Codex's requests for one thread, in order (body plus the turn id)."""
    out = []
    for line in (ROOT / "requests.jsonl").read_text().splitlines():
        request = json.loads(line)
        if request["headers"].get("session_id") == thread_id:
            out.append(request["body"])
    return out


def golden(thread_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "golden/thread_read" / f"{thread_id}.json").read_text()
    )
    return data["result"]["thread"]  # type: ignore[no-any-return]


def _is_user(item: dict[str, Any]) -> bool:
    return item.get("type") == "message" and item.get("role") == "user"


def _text(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []))


def marker(body: dict[str, Any]) -> str:
    found = [m for i in body["input"] if _is_user(i) for m in _MARKER.findall(_text(i))]
    return found[-1]


def conversation(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The input after the contextual prefix (developer and contextual user messages)."""
    items = list(body["input"])
    while items and (
        (items[0].get("type") == "message" and items[0].get("role") == "developer")
        or (_is_user(items[0]) and _text(items[0]).startswith(("<", "# AGENTS.md")))
    ):
        items.pop(0)
    return items


def _events(items: list[dict[str, Any]], *, partial_message: bool = False) -> list[rs.Event]:
    events: list[rs.Event] = []
    for n, item in enumerate(items):
        kind = item["type"]
        if kind == "reasoning":
            events += rs.reasoning(*(s["text"] for s in item.get("summary", [])))
        elif kind == "message":
            streamed = rs.message(
                _text(item), phase=item.get("phase"), chunks=3, item_id=f"msg_{n}"
            )
            events += streamed[:-1] if partial_message and n == len(items) - 1 else streamed
        elif kind == "function_call":
            events += rs.function_call(item["name"], item["arguments"], item["call_id"])
        elif kind == "custom_tool_call":
            events += rs.patch_call(item["input"], item["call_id"])
    return events


def _answer(k: int, bodies: list[dict[str, Any]], thread: dict[str, Any]) -> list[dict[str, Any]]:
    """What the model said in answer to request ``k``."""
    if k + 1 < len(bodies):
        new = bodies[k + 1]["input"][len(bodies[k]["input"]) :]
        said = []
        for item in new:
            if _is_user(item):
                break
            if item["type"] in MODEL_OUTPUTS or item.get("role") == "assistant":
                said.append(item)
        return said
    # The thread's last answer is in no request: the golden's trailing reasoning/messages.
    already = {_text(i) for i in bodies[k]["input"] if i.get("role") == "assistant"}
    tail: list[dict[str, Any]] = []
    for item in reversed(thread["turns"][-1]["items"]):
        if item["type"] == "agentMessage" and item["text"] not in already:
            tail.insert(
                0,
                {
                    "type": "message",
                    "role": "assistant",
                    "phase": item.get("phase"),
                    "content": [{"type": "output_text", "text": item["text"]}],
                },
            )
        elif item["type"] == "reasoning" and len(tail) > 0:
            tail.insert(
                0,
                {
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": s} for s in item["summary"]],
                },
            )
        else:
            break
    return tail


def scripts_for(thread_id: str) -> tuple[dict[str, list[rs.Step]], list[str]]:
    """The server's scripts for a thread (by marker) and the user texts of its turns."""
    bodies, thread = codex_requests(thread_id), golden(thread_id)
    scripts: dict[str, list[rs.Step]] = {}
    prompts: list[str] = []
    for k, body in enumerate(bodies):
        name = marker(body)
        if name not in scripts:
            scripts[name] = []
            prompts.append(_text(conversation(body)[-1]))  # a turn's first request ends so
        said = _answer(k, bodies, thread)
        error = ERRORS.get(name)
        if error == "http500":
            scripts[name].append(rs.http(500, {"error": {"message": "server error"}}))
        elif error == "cut":
            scripts[name].append(rs.sse(_events(said, partial_message=True), cut=True))
        elif error == "failed":
            scripts[name].append(rs.sse([*_events(said), rs.failed("the model failed")]))
        else:
            scripts[name].append(rs.sse([*_events(said), rs.completed()]))
    return scripts, prompts


def _comparable(item: dict[str, Any], work: str) -> dict[str, Any]:
    kind = item["type"]
    if kind == "userMessage":
        return {"type": kind, "text": [c.get("text") for c in item["content"]]}
    if kind == "agentMessage":
        return {"type": kind, "text": item["text"], "phase": item.get("phase")}
    if kind == "reasoning":
        return {"type": kind, "summary": item["summary"]}
    if kind == "commandExecution":
        keys = ("command", "status", "exitCode", "aggregatedOutput")
        return {"type": kind, **{k: item.get(k) for k in keys}}
    if kind == "fileChange":
        changes = [
            (c["path"].replace(work, "WORK"), c["kind"]["type"], c["diff"]) for c in item["changes"]
        ]
        return {"type": kind, "changes": sorted(changes), "status": item["status"]}
    return {"type": kind}


def comparable_turns(thread: dict[str, Any], work: str) -> list[dict[str, Any]]:
    return [
        {
            "status": t["status"],
            "error": (t.get("error") or {}).get("message"),
            "items": [_comparable(i, work) for i in t["items"]],
        }
        for t in thread["turns"]
    ]


CONFIG = """model = "gpt-5.2-codex"
model_provider = "mock"

[model_providers.mock]
name = "mock"
base_url = "{base_url}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_the_scenario_reads_and_asks_as_codex_did(tmp_path: Path, scenario: str) -> None:
    thread_id = SCENARIOS[scenario]
    scripts, prompts = scripts_for(thread_id)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    transcript = tmp_path / "transcript.jsonl"
    server = rs.ResponsesServer(scripts)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        (home / "config.toml").write_text(CONFIG.format(base_url=server.base_url))
        async with start_server(home, "--driver", "responses", transcript=transcript) as process:
            client = RpcClient(process)
            await client.initialize()
            start = {"cwd": str(work)}
            if scenario in EXTENDED:
                start["persistExtendedHistory"] = True  # type: ignore[assignment]
            ours = (await client.result("thread/start", start))["thread"]["id"]
            for n, prompt in enumerate(prompts, start=1):
                await client.result(
                    "turn/start", {"threadId": ours, "input": [{"type": "text", "text": prompt}]}
                )
                await client.until("turn/completed", n)
            await close_server(process)
        nursery.cancel_scope.cancel()
    assert assert_transcript_valid(transcript, "0.105.0") > 0
    async with start_server(home) as process:
        client = RpcClient(process)
        await client.initialize()
        read = (await client.result("thread/read", {"threadId": ours, "includeTurns": True}))[
            "thread"
        ]
        await close_server(process)

    expected = golden(thread_id)
    assert read["modelProvider"] == "mock" == expected["modelProvider"]
    assert comparable_turns(read, str(work)) == comparable_turns(expected, CODEX_WORK)

    theirs = codex_requests(thread_id)
    mine = [r.body for r in server.requests]
    assert len(mine) == len(theirs)
    for our_body, codex_body in zip(mine, theirs, strict=True):
        assert set(our_body) == set(codex_body)
        shape = [(i["type"], i.get("role")) for i in conversation(our_body)]
        assert shape == [(i["type"], i.get("role")) for i in conversation(codex_body)]
        said = [(_text(i), i.get("role")) for i in conversation(our_body) if i["type"] == "message"]
        assert said == [
            (_text(i), i.get("role")) for i in conversation(codex_body) if i["type"] == "message"
        ]
        tools = {t["name"]: t["type"] for t in our_body["tools"]}
        assert tools["exec_command"] == "function" and tools["apply_patch"] == "custom"
        # The bundling rule: one developer message and one contextual user message.
        prefix = our_body["input"][: len(our_body["input"]) - len(conversation(our_body))]
        assert [(i["type"], i["role"]) for i in prefix] == [
            ("message", "developer"),
            ("message", "user"),
        ]


async def test_serve_stays_responsive_through_an_interrupt_and_a_hang(tmp_path: Path) -> None:
    scripts = {
        "hang": [rs.sse(rs.message("thinking ...")[:2], hang=True)],
        "after": [rs.sse(rs.message("Back again."))],
    }
    home = tmp_path / "home"
    home.mkdir()
    server = rs.ResponsesServer(scripts)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        (home / "config.toml").write_text(CONFIG.format(base_url=server.base_url))
        async with start_server(home, "--driver", "responses", "--persist-extended") as process:
            client = RpcClient(process)
            await client.initialize()
            thread = (await client.result("thread/start", {"cwd": str(home)}))["thread"]["id"]
            hang = {"threadId": thread, "input": [{"type": "text", "text": "wait [[S:hang]]"}]}
            turn = (await client.result("turn/start", hang))["turn"]["id"]
            with trio.fail_after(10):
                while server.hanging == 0:
                    await trio.sleep(0.01)
            # serve answers other requests while the model hangs
            listed = await client.result("thread/list", {})
            assert [t["id"] for t in listed["data"]] == [thread]
            await client.result("turn/interrupt", {"threadId": thread, "turnId": turn})
            (done,) = await client.until("turn/completed", 1)
            assert done["params"]["turn"]["status"] == "interrupted"
            with trio.fail_after(5):
                while server.hanging:
                    await trio.sleep(0.01)  # the HTTP request was closed
            after = {"threadId": thread, "input": [{"type": "text", "text": "again [[S:after]]"}]}
            await client.result("turn/start", after)
            second = (await client.until("turn/completed", 2))[-1]
            assert second["params"]["turn"]["status"] == "completed"
            read = await client.result("thread/read", {"threadId": thread, "includeTurns": True})
            await close_server(process)
        nursery.cancel_scope.cancel()
    first, last = read["thread"]["turns"]
    assert first["status"] == "interrupted"
    assert [i["type"] for i in first["items"]] == ["userMessage", "agentMessage"]
    assert last["items"][-1]["text"] == "Back again."
