"""Hypothesis drives ``threadlog serve`` (a real process) with random op sequences and
SIGKILLs it between steps; after every step, and after every kill and restart: every
thread the server acknowledged still exists, every turn it reported completed is in the
log, and the view ``serve`` gives equals a fresh fold of the log."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.rpc_client import RpcClient, start_server
from threadlog.testing.runtime import fold_of_log

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("start")),
        st.tuples(st.just("turn"), st.integers(0, 3)),
        st.tuples(st.just("rename"), st.integers(0, 3)),
        st.tuples(st.just("fork"), st.integers(0, 3)),
        st.tuples(st.just("archive"), st.integers(0, 3)),
        st.tuples(st.just("unarchive"), st.integers(0, 3)),
        st.tuples(st.just("kill")),
    ),
    min_size=3,
    max_size=10,
).map(lambda ops: [("start",), *ops[:4], ("kill",), *ops[4:]])  # a thread, and a kill, always


class Model:
    """What the server acknowledged: threads, their completed turns, the archived ones."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.completed: dict[str, set[str]] = {}
        self.archived: set[str] = set()


async def _check(client: RpcClient, model: Model) -> None:
    for tid in model.threads:
        answer = await client.call("thread/read", {"threadId": tid, "includeTurns": True})
        assert "result" in answer, (tid, answer)
        thread = answer["result"]["thread"]
        if thread["path"] is None or not model.completed.get(tid):
            continue
        logged = msgspec.to_builtins(fold_of_log(thread["path"]))
        assert {t["id"] for t in logged} >= model.completed[tid]  # acknowledged = durable
        ended = [t for t in thread["turns"] if t["status"] != "inProgress"]
        assert ended == [t for t in logged if t["id"] in {e["id"] for e in ended}]


async def _step(client: RpcClient, model: Model, op: tuple[Any, ...]) -> None:
    name = op[0]
    pick = model.threads[op[1] % len(model.threads)] if len(op) > 1 and model.threads else None
    if name == "start":
        started = await client.result("thread/start", {})
        tid = started["thread"]["id"]
        await _turn(client, model, tid)  # a thread is durable once its first turn is
        model.threads.append(tid)
    elif pick is None:
        return
    elif name == "turn" and pick not in model.archived:
        await _turn(client, model, pick)
    elif name == "rename":
        await client.call("thread/name/set", {"threadId": pick, "name": f"n{len(model.threads)}"})
    elif name == "fork" and pick not in model.archived:
        forked = await client.call("thread/fork", {"threadId": pick})
        if "result" in forked:
            tid = forked["result"]["thread"]["id"]
            model.threads.append(tid)
            model.completed[tid] = {t["id"] for t in forked["result"]["thread"]["turns"]}
    elif name == "archive" and pick not in model.archived:
        archived = await client.call("thread/archive", {"threadId": pick})
        model.archived |= {pick} if "result" in archived else set()
    elif name == "unarchive" and pick in model.archived:
        back = await client.call("thread/unarchive", {"threadId": pick})
        model.archived -= {pick} if "result" in back else set()


async def _turn(client: RpcClient, model: Model, tid: str) -> None:
    started = await client.call(
        "turn/start", {"threadId": tid, "input": [{"type": "text", "text": "go"}]}
    )
    if "result" not in started:
        return
    turn_id = started["result"]["turn"]["id"]
    with trio.fail_after(30):
        while True:
            message = await client.read_message()
            params = message.get("params") or {}
            if (
                message.get("method") == "turn/completed"
                and params.get("turn", {}).get("id") == turn_id
            ):
                model.completed.setdefault(tid, set()).add(turn_id)
                return


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(OPS)
def test_serve_killed_between_steps_keeps_what_it_acknowledged(ops: list[tuple[Any, ...]]) -> None:
    home = Path(tempfile.mkdtemp(prefix="threadlog-kills-")) / "home"
    home.mkdir()
    model = Model()

    async def main() -> None:
        kills = 0
        remaining = list(ops)
        while True:
            async with start_server(home) as process:
                client = RpcClient(process)
                await client.initialize()
                await _check(client, model)  # after every (re)start
                while remaining:
                    op = remaining.pop(0)
                    if op[0] == "kill":
                        process.send_signal(signal.SIGKILL)
                        kills += 1
                        break
                    await _step(client, model, op)
                    await _check(client, model)
                else:
                    assert kills >= 1
                    return

    trio.run(main)
