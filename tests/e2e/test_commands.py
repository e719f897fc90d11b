"""Commands: streamed output, approval, the read-access sandbox policy, timeouts, truncation."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from tests.support.rpc_client import RpcClient, start_server
from tests.support.runtime_helpers import drain, live_equals_log, open_runtime, script
from threadlog.actors.shell.sandbox import FullAccess, RestrictedAccess, read_access_of
from threadlog.events.response_items import FunctionCallOutput
from threadlog.events.thread_items import CommandExecutionItem
from threadlog.events.tool_events import ExecCommandEnd
from threadlog.store.reader import read_items

RESTRICTED = {
    "type": "read-only",
    "access": {"type": "restricted", "include_platform_defaults": True, "readable_roots": ["/x"]},
}


def _exec(command: list[str], **extra: Any) -> list[Any]:
    return script([{"type": "exec", "command": command, **extra}, {"type": "say", "text": "ok"}])


def _commands(thread: Any) -> list[CommandExecutionItem]:
    return [i for t in thread.turns for i in t.items if isinstance(i, CommandExecutionItem)]


@pytest.mark.parametrize("extended", [True, False])
async def test_output_streams_while_the_command_runs_and_the_result_is_rebuilt(
    tmp_path: Path, extended: bool
) -> None:
    command = ["sh", "-c", "echo one; sleep 0.2; echo two >&2; exit 4"]
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(persist_extended_history=extended)
        async with rt.subscribe(thread.id) as notes:
            await rt.start_turn(thread.id, _exec(command))
            await rt.wait_turn(thread.id)
            seen = [(n.method, msgspec.to_builtins(n.params)) for n in drain(notes)]
        live = await rt.read_thread(thread.id, include_turns=True)
        assert live_equals_log(live)
    cmd_events = [
        (m, p.get("item", {}).get("status"), p.get("delta"))
        for m, p in seen
        if m == "item/commandExecution/outputDelta"
        or (m.startswith("item/") and p.get("item", {}).get("type") == "commandExecution")
    ]
    assert cmd_events[0] == ("item/started", "inProgress", None)
    assert cmd_events[-1] == ("item/completed", "failed", None)
    deltas = [d for m, _, d in cmd_events if m == "item/commandExecution/outputDelta"]
    assert "".join(deltas) == "one\ntwo\n" and len(deltas) == 2
    async with open_runtime(tmp_path) as rt:
        resumed = await rt.resume_thread(thread.id)
    if extended:
        (item,) = _commands(resumed)
        assert (item.status, item.exit_code, item.aggregated_output) == ("failed", 4, "one\ntwo\n")
        assert item.duration_ms is not None and item.duration_ms >= 200
    else:
        assert _commands(resumed) == []


async def test_declined_commands_never_run_and_cancel_interrupts_the_turn(tmp_path: Path) -> None:
    asked: list[tuple[list[str], str]] = []
    decisions = ["decline", "cancel", "accept"]

    async def approve(tid: str, turn_id: str, call_id: str, command: list[str], cwd: str) -> str:
        asked.append((command, cwd))
        return decisions.pop(0)

    marker = tmp_path / "ran"
    touch = ["sh", "-c", f"echo x >> {marker}"]
    async with open_runtime(tmp_path, approval_handler=approve) as rt:
        thread = await rt.start_thread(approval_policy="on-request", persist_extended_history=True)
        for _ in range(3):
            await rt.start_turn(thread.id, _exec(touch))
            await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        assert live_equals_log(live)
    assert [s for s in (t.status for t in live.turns)] == ["completed", "interrupted", "completed"]
    assert [c.status for c in _commands(live)] == ["declined", "declined", "completed"]
    assert marker.read_text() == "x\n"  # only the accepted one ran
    assert asked == [(touch, str(tmp_path))] * 3


async def test_no_approval_is_asked_under_never_and_a_broken_handler_declines(
    tmp_path: Path,
) -> None:
    async def broken(*args: Any) -> str:
        raise RuntimeError("ui crashed")

    async with open_runtime(tmp_path, approval_handler=broken) as rt:
        thread = await rt.start_thread(persist_extended_history=True)
        await rt.start_turn(thread.id, _exec(["true"]))
        await rt.wait_turn(thread.id)
        await rt.start_turn(thread.id, _exec(["true"]), approval_policy="untrusted")
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert [c.status for c in _commands(live)] == ["completed", "declined"]


def test_read_access_of_the_sandbox_policy() -> None:
    assert read_access_of({"type": "danger-full-access"}) == FullAccess()
    assert read_access_of({"type": "read-only"}) == FullAccess()
    assert (
        read_access_of({"type": "workspace-write", "read_only_access": {"type": "full-access"}})
        == FullAccess()
    )
    assert read_access_of(RESTRICTED) == RestrictedAccess(True, ["/x"])
    camel = {
        "type": "readOnly",
        "access": {"type": "restricted", "includePlatformDefaults": False, "readableRoots": []},
    }
    assert read_access_of(camel) == RestrictedAccess(False, [])
    # Malformed read access narrows to nothing rather than widening to everything.
    for bad in ({"type": "restricted", "readable_roots": "/"}, {"type": "everything"}, "full"):
        assert read_access_of({"type": "read-only", "access": bad}) == RestrictedAccess(False, [])


@pytest.mark.parametrize("policy", [RESTRICTED, {"type": "read-only", "access": {"type": "?"}}])
async def test_a_restricted_read_surface_fails_closed(tmp_path: Path, policy: Any) -> None:
    marker = tmp_path / "ran"
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(sandbox_policy=policy, persist_extended_history=True)
        await rt.start_turn(thread.id, _exec(["touch", str(marker)]))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    (item,) = _commands(live)
    assert item.status == "failed" and "refusing to run" in (item.aggregated_output or "")
    assert live.turns[-1].status == "completed"
    assert not marker.exists()


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    command = ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"]
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(persist_extended_history=True)
        await rt.start_turn(thread.id, _exec(command, timeout=0.5))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    (item,) = _commands(live)
    assert (item.status, item.exit_code) == ("failed", 124)
    grandchild = int(pid_file.read_text())
    with trio.fail_after(5):
        while _alive(grandchild):
            await trio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


async def test_persisted_output_is_truncated_by_the_policy(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('a' * 50_000 + 'END')"]
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(persist_extended_history=True)
        await rt.start_turn(thread.id, _exec(command))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    items = read_items(Path(live.path or ""))
    (end,) = [i for i in items if isinstance(i, ExecCommandEnd)]
    assert "chars truncated" in end.aggregated_output and end.aggregated_output.endswith("END\n")
    assert len(end.aggregated_output) < 20_000 and end.stdout == ""
    (output,) = [i for i in items if isinstance(i, FunctionCallOutput)]
    assert "chars truncated" in str(output.output)


async def test_serve_asks_the_client_to_approve(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    steps = [{"type": "exec", "command": ["sh", "-c", f"echo hi; touch {marker}"]}]
    turn_input = [{"type": "text", "text": "#script\n" + json.dumps(steps), "text_elements": []}]
    async with start_server(tmp_path, "--persist-extended") as process:
        client = RpcClient(process)
        await client.initialize()
        started = await client.result(
            "thread/start", {"cwd": str(tmp_path), "approvalPolicy": "on-request"}
        )
        tid = started["thread"]["id"]
        for decision, count in (("decline", 1), ("accept", 2)):
            turn = await client.result("turn/start", {"threadId": tid, "input": turn_input})
            request = await client.server_request("item/commandExecution/requestApproval")
            params = request["params"]
            assert (params["threadId"], params["turnId"]) == (tid, turn["turn"]["id"])
            assert params["cwd"] == str(tmp_path) and "touch" in params["command"]
            assert not marker.exists()
            await client.respond(request["id"], {"decision": decision})
            await client.until("turn/completed", count)
        completed = [
            n["params"]["item"]
            for n in client.notifications
            if n["method"] == "item/completed" and n["params"]["item"]["type"] == "commandExecution"
        ]
        assert [c["status"] for c in completed] == ["declined", "completed"]
        deltas = [
            n for n in client.notifications if n["method"] == "item/commandExecution/outputDelta"
        ]
        assert "".join(d["params"]["delta"] for d in deltas) == "hi\n"
        assert marker.exists()
