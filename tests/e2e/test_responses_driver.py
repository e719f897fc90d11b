"""The Responses driver in the runtime, against the scripted Responses server on loopback.

Each test runs real trio tasks, a real HTTP server and real files: the thread's log is read
back and folded (live = log), and the requests the driver sent are checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.support import responses_server as rs
from tests.support.runtime_helpers import drain, live_equals_log, open_runtime, text
from threadlog.actors.drivers.protocol import DynamicToolResult
from threadlog.actors.drivers.responses import ResponsesDriver, resolve
from threadlog.actors.drivers.responses.failures import HIGH_DEMAND, STREAM_CLOSED, STREAM_IDLE
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.views import Thread

KEY = {"OPENAI_API_KEY": "sk-test"}


def provider_doc(base_url: str, **settings: Any) -> dict[str, Any]:
    """A config.toml document naming a local provider (no retries unless asked)."""
    table = {
        "base_url": base_url,
        "env_key": "OPENAI_API_KEY",
        "wire_api": "responses",
        "request_max_retries": 0,
        "stream_max_retries": 0,
        **settings,
    }
    return {"model": "gpt-test", "model_provider": "local", "model_providers": {"local": table}}


@asynccontextmanager
async def agent(
    tmp_path: Path,
    scripts: dict[str, list[rs.Step]],
    *,
    environ: dict[str, str] | None = None,
    base_url: str | None = None,
    sandbox: Any = None,
    **settings: Any,
) -> AsyncIterator[tuple[Runtime, rs.ResponsesServer, Path]]:
    """A runtime on a fresh home whose driver talks to a scripted server."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    server = rs.ResponsesServer(scripts)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        config = resolve(provider_doc(base_url or server.base_url, **settings))
        driver = ResponsesDriver(
            config, environ=KEY if environ is None else environ, jitter=lambda: 0.05
        )
        defaults = ThreadSettings(
            cwd=str(work),
            model="gpt-test",
            model_provider="local",
            sandbox_policy=sandbox or {"type": "danger-full-access"},
        )
        async with open_runtime(home, driver=driver, defaults=defaults, **_handlers()) as runtime:
            yield runtime, server, work
        nursery.cancel_scope.cancel()


def _handlers() -> dict[str, Any]:
    async def lookup(thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any) -> Any:
        return DynamicToolResult(
            success=True, content_items=[{"type": "inputText", "text": f"{arguments['word']}=42"}]
        )

    return {"dynamic_tool_handler": lookup}


async def one_turn(runtime: Runtime, prompt: str, **start: Any) -> Thread:
    """Start a thread (extended history unless asked: errors then stay), run one turn to
    its end, read it back."""
    start.setdefault("persist_extended_history", True)
    thread = await runtime.start_thread(**start)
    await runtime.start_turn(thread.id, text(prompt))
    with trio.fail_after(30):
        await runtime.wait_turn(thread.id)
    return await runtime.read_thread(thread.id, include_turns=True)


def kinds(thread: Thread, turn: int = -1) -> list[str]:
    return [type(i).__name__ for i in thread.turns[turn].items]


def input_types(body: dict[str, Any]) -> list[str]:
    return [f"{i['type']}:{i.get('role', '')}" for i in body["input"]]


async def test_a_chat_turn_streams_reasoning_and_a_message(tmp_path: Path) -> None:
    steps = [
        rs.sse(
            [
                *rs.reasoning("Think first.", encrypted="enc-1"),
                *rs.message("Hello there.", chunks=3),
                rs.completed(120, 7),
            ]
        )
    ]
    async with agent(tmp_path, {"chat": steps}) as (runtime, server, _):
        thread = await one_turn(runtime, "Say hello. [[S:chat]]")
    assert thread.turns[-1].status == "completed"
    assert kinds(thread) == ["UserMessageItem", "ReasoningItem", "AgentMessageItem"]
    assert thread.turns[-1].items[-1].text == "Hello there."  # type: ignore[union-attr]
    assert live_equals_log(thread)
    (request,) = server.requests
    body = request.body
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert set(body) == {
        "model",
        "instructions",
        "input",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "store",
        "stream",
        "include",
        "prompt_cache_key",
    }
    assert body["store"] is False and body["stream"] is True
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["prompt_cache_key"] == thread.id and body["model"] == "gpt-test"
    tools = {t["name"]: t for t in body["tools"]}
    assert tools["exec_command"]["type"] == "function"
    assert tools["apply_patch"]["type"] == "custom"
    assert tools["apply_patch"]["format"]["syntax"] == "lark"
    assert input_types(body)[-1] == "message:user"


async def test_a_shell_call_runs_and_its_output_goes_back(tmp_path: Path) -> None:
    steps = [
        rs.sse([*rs.reasoning("Run it."), *rs.shell_call("echo hi; exit 3", "call_1")]),
        rs.sse(rs.message("It exited 3.")),
    ]
    async with agent(tmp_path, {"sh": steps}) as (runtime, server, _):
        thread = await one_turn(runtime, "Run. [[S:sh]]", persist_extended_history=True)
    assert kinds(thread) == [
        "UserMessageItem",
        "ReasoningItem",
        "CommandExecutionItem",
        "AgentMessageItem",
    ]
    command = thread.turns[-1].items[2]
    assert command.command == "/bin/bash -lc 'echo hi; exit 3'"  # type: ignore[union-attr]
    assert command.exit_code == 3 and command.status == "failed"  # type: ignore[union-attr]
    assert live_equals_log(thread)
    second = server.requests[1].body["input"]
    assert [i["type"] for i in second[-3:]] == [
        "reasoning",
        "function_call",
        "function_call_output",
    ]
    assert second[-2]["call_id"] == "call_1" and second[-1]["call_id"] == "call_1"
    output = second[-1]["output"]
    assert "Process exited with code 3" in output and output.endswith("Output:\nhi\n")
    assert "Original token count: 1" in output  # ceil(3 bytes / 4)


PATCH_ADD = "*** Begin Patch\n*** Add File: notes/hello.txt\n+Hello\n+World\n*** End Patch\n"
PATCH_UPDATE = (
    "*** Begin Patch\n*** Update File: notes/hello.txt\n@@\n Hello\n-World\n+Codex\n"
    "*** Add File: notes/second.txt\n+second file\n*** End Patch\n"
)
PATCH_FAIL = (
    "*** Begin Patch\n*** Update File: notes/missing.txt\n@@\n-nothing\n+something\n*** End Patch\n"
)


async def test_patches_apply_to_the_files_and_a_failing_one_changes_nothing(tmp_path: Path) -> None:
    steps = [
        rs.sse(
            [
                *rs.message("I'll create a file.", phase="commentary"),
                *rs.patch_call(PATCH_ADD, "p1"),
            ]
        ),
        rs.sse(rs.patch_call(PATCH_UPDATE, "p2")),
        rs.sse(rs.patch_call(PATCH_FAIL, "p3")),
        rs.sse(rs.message("Done.")),
    ]
    async with agent(tmp_path, {"patch": steps}) as (runtime, server, work):
        thread = await one_turn(runtime, "Patch. [[S:patch]]", persist_extended_history=True)
    assert (work / "notes/hello.txt").read_text() == "Hello\nCodex\n"
    assert (work / "notes/second.txt").read_text() == "second file\n"
    assert not (work / "notes/missing.txt").exists()
    assert kinds(thread) == [
        "UserMessageItem",
        "AgentMessageItem",
        "FileChangeItem",
        "FileChangeItem",
        "AgentMessageItem",
    ]
    outputs = [
        i["output"]
        for i in server.requests[3].body["input"]
        if i["type"] == "custom_tool_call_output"
    ]
    assert (
        outputs[0] == "Exit code: 0\nWall time: 0 seconds\nOutput:\n"
        "Success. Updated the following files:\nA notes/hello.txt\n"
    )
    assert outputs[1].endswith("A notes/second.txt\nM notes/hello.txt\n")
    assert outputs[2] == (
        "apply_patch verification failed: Failed to read file to update "
        f"{work}/notes/missing.txt: No such file or directory (os error 2)"
    )
    assert live_equals_log(thread)


async def test_a_patch_outside_the_writable_roots_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    patch = f"*** Begin Patch\n*** Add File: {outside}\n+x\n*** End Patch\n"
    steps = [rs.sse(rs.patch_call(patch, "p1")), rs.sse(rs.message("Refused."))]
    policy = {"type": "workspace-write", "writable_roots": [], "exclude_slash_tmp": True}
    async with agent(tmp_path, {"esc": steps}, sandbox=policy) as (runtime, server, _):
        thread = await one_turn(runtime, "Escape. [[S:esc]]")
    assert not outside.exists()
    assert thread.turns[-1].status == "completed"
    output = server.requests[1].body["input"][-1]["output"]
    assert "outside the sandbox's writable roots" in output


async def test_a_dynamic_tool_call_goes_to_the_host(tmp_path: Path) -> None:
    spec = DynamicToolSpec(name="lookup", description="look up", input_schema={"type": "object"})
    steps = [
        rs.sse(rs.function_call("lookup", {"word": "trio"}, "d1")),
        rs.sse(rs.message("trio is 42.")),
    ]
    async with agent(tmp_path, {"dyn": steps}) as (runtime, server, _):
        thread = await one_turn(runtime, "Look up. [[S:dyn]]", dynamic_tools=[spec])
    assert thread.turns[-1].status == "completed"
    first, second = server.requests
    assert {"type": "function", "name": "lookup"}.items() <= next(
        t for t in first.body["tools"] if t["name"] == "lookup"
    ).items()
    assert second.body["input"][-1] == {
        "type": "function_call_output",
        "call_id": "d1",
        "output": "trio=42",
    }


async def test_http_500_fails_the_turn_as_codex_does(tmp_path: Path) -> None:
    async with agent(tmp_path, {"e": [rs.http(500, {"error": {"message": "boom"}})]}) as (
        runtime,
        server,
        _,
    ):
        thread = await one_turn(runtime, "Fail. [[S:e]]", persist_extended_history=True)
    turn = thread.turns[-1]
    assert turn.status == "failed"
    assert turn.error is not None and turn.error.message == HIGH_DEMAND
    assert turn.error.codex_error_info == "internalServerError"
    assert len(server.requests) == 1
    assert live_equals_log(thread)


async def test_http_500_then_success_is_retried(tmp_path: Path) -> None:
    steps = [rs.http(500), rs.http(503), rs.sse(rs.message("Recovered."))]
    async with agent(tmp_path, {"r": steps}, request_max_retries=2) as (runtime, server, _):
        thread = await one_turn(runtime, "Retry. [[S:r]]")
    assert thread.turns[-1].status == "completed"
    assert [r.step for r in server.requests] == [0, 1, 2]


async def test_429_honours_retry_after_then_gives_up_with_the_retry_limit(tmp_path: Path) -> None:
    limited = rs.http(
        429, {"error": {"type": "rate_limit_exceeded", "message": "slow"}}, {"retry-after": "0.2"}
    )
    async with agent(tmp_path, {"r": [limited, limited]}, request_max_retries=1) as (
        runtime,
        server,
        _,
    ):
        started = trio.current_time()
        thread = await one_turn(runtime, "Rate. [[S:r]]", persist_extended_history=True)
        elapsed = trio.current_time() - started
    assert len(server.requests) == 2
    assert elapsed >= 0.2  # the server's retry-after, not the 10 ms backoff
    error = thread.turns[-1].error
    assert (
        error is not None
        and error.message == "exceeded retry limit, last status: 429 Too Many Requests"
    )
    assert error.codex_error_info == {"responseTooManyFailedAttempts": {"httpStatusCode": 429}}


async def test_401_is_not_retried(tmp_path: Path) -> None:
    async with agent(
        tmp_path, {"a": [rs.http(401, {"error": {"message": "bad key"}})]}, request_max_retries=3
    ) as (runtime, server, _):
        thread = await one_turn(runtime, "Auth. [[S:a]]")
    assert len(server.requests) == 1
    error = thread.turns[-1].error
    assert error is not None and error.codex_error_info == "unauthorized" and "401" in error.message


async def test_response_failed_ends_the_turn_with_its_message(tmp_path: Path) -> None:
    steps = [rs.sse([rs.failed("the model broke")])]
    async with agent(tmp_path, {"f": steps}) as (runtime, _, _):
        thread = await one_turn(runtime, "Fail. [[S:f]]")
    error = thread.turns[-1].error
    assert error is not None and error.message == "the model broke"


async def test_a_cut_stream_keeps_what_streamed_and_fails(tmp_path: Path) -> None:
    partial = rs.message("This answer is cut off before the end")[:2]  # added + one delta
    steps = [rs.sse([*rs.reasoning("partial"), *partial], cut=True)]
    async with agent(tmp_path, {"c": steps}) as (runtime, _, _):
        thread = await one_turn(runtime, "Cut. [[S:c]]", persist_extended_history=True)
    turn = thread.turns[-1]
    assert turn.status == "failed"
    assert turn.error is not None and turn.error.message == STREAM_CLOSED
    assert kinds(thread) == ["UserMessageItem", "ReasoningItem", "AgentMessageItem"]
    assert live_equals_log(thread)


async def test_a_cut_stream_is_retried_within_the_stream_budget(tmp_path: Path) -> None:
    steps = [rs.sse(rs.message("half")[:2], cut=True), rs.sse(rs.message("whole"))]
    async with agent(tmp_path, {"c": steps}, stream_max_retries=1) as (runtime, server, _):
        thread = await one_turn(runtime, "Cut. [[S:c]]")
    assert thread.turns[-1].status == "completed"
    assert len(server.requests) == 2
    # what streamed before the cut stays, and the retry carries it
    assert server.requests[1].body["input"][-1]["content"][0]["text"] == "half"


async def test_an_idle_stream_times_out(tmp_path: Path) -> None:
    steps = [rs.sse(rs.message("start")[:2], hang=True)]
    async with agent(tmp_path, {"h": steps}, stream_idle_timeout_ms=300) as (runtime, server, _):
        thread = await one_turn(runtime, "Hang. [[S:h]]")
        await trio.sleep(0.1)
        assert server.hanging == 0  # the driver closed the connection
    error = thread.turns[-1].error
    assert error is not None and error.message == STREAM_IDLE


async def test_interrupt_cancels_the_request_at_once(tmp_path: Path) -> None:
    steps = [rs.sse(rs.message("thinking ...")[:2], hang=True)]
    async with agent(tmp_path, {"h": steps}) as (runtime, server, _):
        thread = await runtime.start_thread()
        await runtime.start_turn(thread.id, text("Hang. [[S:h]]"))
        with trio.fail_after(10):
            while server.hanging == 0:
                await trio.sleep(0.01)
        with trio.fail_after(2):
            await runtime.interrupt_turn(thread.id)
        await trio.sleep(0.1)
        assert server.hanging == 0
        read = await runtime.read_thread(thread.id, include_turns=True)
    assert read.turns[-1].status == "interrupted"
    assert kinds(read) == ["UserMessageItem", "AgentMessageItem"]
    assert read.turns[-1].items[-1].text == "thinking ..."  # type: ignore[union-attr]


async def test_a_malformed_event_fails_the_turn_and_keeps_the_log(tmp_path: Path) -> None:
    steps = [rs.raw(b"data: {not json\n\n")]
    async with agent(tmp_path, {"m": steps}) as (runtime, _, _):
        thread = await one_turn(runtime, "Bad. [[S:m]]", persist_extended_history=True)
    error = thread.turns[-1].error
    assert error is not None and error.message.startswith(
        "stream disconnected before completion: bad SSE event"
    )
    assert live_equals_log(thread)


async def test_a_10_mb_event_is_read_whole(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    async with agent(tmp_path, {"big": [rs.sse(rs.message(big))]}) as (runtime, _, _):
        thread = await one_turn(runtime, "Big. [[S:big]]")
    assert thread.turns[-1].items[-1].text == big  # type: ignore[union-attr]


async def test_a_missing_key_is_the_first_turns_error(tmp_path: Path) -> None:
    async with agent(tmp_path, {}, environ={}) as (runtime, server, _):
        thread = await one_turn(runtime, "Hi.")
    error = thread.turns[-1].error
    assert error is not None and "OPENAI_API_KEY" in error.message
    assert error.codex_error_info == "unauthorized"
    assert server.requests == []


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with trio.socket.socket() as sock:  # a port nothing listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with agent(tmp_path, {}, base_url=f"http://127.0.0.1:{port}/v1") as (runtime, _, _):
        thread = await one_turn(runtime, "Hi.")
    error = thread.turns[-1].error
    assert error is not None and error.message.startswith(
        f"error sending request for url (http://127.0.0.1:{port}/v1/responses)"
    )
    assert error.codex_error_info == {"httpConnectionFailed": {"httpStatusCode": None}}


@pytest.mark.parametrize("turns", [2])
async def test_a_later_turn_carries_the_earlier_ones(tmp_path: Path, turns: int) -> None:
    scripts = {f"t{i}": [rs.sse(rs.message(f"answer {i}"))] for i in range(turns)}
    async with agent(tmp_path, scripts) as (runtime, server, _):
        thread = await runtime.start_thread()
        for i in range(turns):
            await runtime.start_turn(thread.id, text(f"turn {i} [[S:t{i}]]"))
            with trio.fail_after(30):
                await runtime.wait_turn(thread.id)
    last = server.requests[-1].body["input"]
    said = [
        i["content"][0]["text"] for i in last if i["type"] == "message" and i["role"] == "assistant"
    ]
    assert said == ["answer 0"]
    assert last[-1]["content"][0]["text"] == f"turn {turns - 1} [[S:t{turns - 1}]]"


async def test_update_plan_tells_the_host_and_answers_the_model(tmp_path: Path) -> None:
    plan = {
        "explanation": "two steps",
        "plan": [{"step": "read", "status": "in_progress"}, {"step": "write", "status": "pending"}],
    }
    steps = [
        rs.sse(rs.function_call("update_plan", plan, "u1")),
        rs.sse(rs.function_call("update_plan", {"plan": [{"step": "x", "status": "bogus"}]}, "u2")),
        rs.sse(rs.message("Planned.")),
    ]
    async with (
        agent(tmp_path, {"plan": steps}) as (runtime, server, _),
        runtime.subscribe() as channel,
    ):
        thread = await one_turn(runtime, "Plan. [[S:plan]]")
        shown = [n for n in drain(channel) if n.method == "turn/plan/updated"]
    assert thread.turns[-1].status == "completed"
    (update,) = shown  # the bad call is answered with its error, not shown
    assert update.params["plan"] == [
        {"step": "read", "status": "inProgress"},
        {"step": "write", "status": "pending"},
    ]
    assert update.params["explanation"] == "two steps"
    outputs = [
        i["output"] for i in server.requests[2].body["input"] if i["type"] == "function_call_output"
    ]
    assert outputs[0] == "Plan updated"
    assert outputs[1].startswith("failed to parse function arguments")
    assert live_equals_log(thread)
