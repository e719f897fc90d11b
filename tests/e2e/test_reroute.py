"""Model reroute: the host hears of it (notification and warning); the log does not change."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.support.rpc_client import RpcClient, start_server
from tests.support.runtime_helpers import drain, open_runtime, script
from threadlog.store.reader import read_rollout

REROUTE = {
    "type": "reroute",
    "from_model": "big",
    "to_model": "small",
    "reason": "highRiskCyberActivity",
}


@pytest.mark.parametrize("extended", [True, False])
async def test_reroute_notifies_and_persists_nothing(tmp_path: Path, extended: bool) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(persist_extended_history=extended)
        plain = script([{"type": "say", "text": "x"}])
        await rt.start_turn(thread.id, plain)
        await rt.wait_turn(thread.id)
        path = Path((await rt.read_thread(thread.id)).path or "")
        first = len(list(read_rollout(path)))
        await rt.start_turn(thread.id, plain)
        await rt.wait_turn(thread.id)
        before = [r.line.item for r in read_rollout(path)]
        async with rt.subscribe(thread.id) as notes:
            turn = await rt.start_turn(thread.id, script([REROUTE, {"type": "say", "text": "x"}]))
            await rt.wait_turn(thread.id)
            seen = [(n.method, msgspec.to_builtins(n.params)) for n in drain(notes)]
    after = [r.line.item for r in read_rollout(path)]
    # The rerouted turn wrote exactly the kinds a plain one did: the reroute left no line.
    assert [type(i) for i in after[len(before) :]] == [type(i) for i in before[first:]]
    rerouted = [p for m, p in seen if m == "model/rerouted"]
    assert rerouted == [
        {
            "threadId": thread.id,
            "turnId": turn.id,
            "fromModel": "big",
            "toModel": "small",
            "reason": "highRiskCyberActivity",
        }
    ]
    methods = [m for m, _ in seen]
    assert methods.index("warning") == methods.index("model/rerouted") + 1
    warning = next(p for m, p in seen if m == "warning")
    assert "big" in warning["message"] and "small" in warning["message"]


async def test_serve_sends_model_rerouted(tmp_path: Path) -> None:
    steps = [REROUTE, {"type": "say", "text": "x"}]
    turn_input = [{"type": "text", "text": "#script\n" + json.dumps(steps), "text_elements": []}]
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        await client.result("turn/start", {"threadId": tid, "input": turn_input})
        await client.until("turn/completed")
        (note,) = await client.until("model/rerouted")
        assert (note["params"]["fromModel"], note["params"]["toModel"]) == ("big", "small")
        assert any(n["method"] == "warning" for n in client.notifications)
