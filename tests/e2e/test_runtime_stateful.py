"""Hypothesis drives the runtime with random op sequences (turns, interrupts, renames, forks,
archives, rollbacks, passivation, whole-runtime restarts) and checks after every step:
the live view equals the fold of the log, every acknowledged message is on disk, and
listing agrees with what exists."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.nats import log_url
from tests.support.runtime_helpers import drain, fold_of_log, open_runtime, script
from threadlog.actors.runtime.host_api import Runtime
from threadlog.events.errors import ThreadError
from threadlog.events.event_msgs import AgentMessage, UserMessage
from threadlog.events.notifications import Notification
from threadlog.events.sources import SOURCE_KINDS
from threadlog.events.thread_items import AgentMessageItem
from threadlog.projections.index.listing import ListParams
from threadlog.store.jetstream_log import JetStreamLogStore
from threadlog.store.jetstream_names import parse_target
from threadlog.store.pg_index import PostgresIndex
from threadlog.store.reader import read_items

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("start")),
        st.tuples(
            st.just("turn"), st.integers(0, 3), st.sampled_from(["say", "reason", "exec", "fail"])
        ),
        st.tuples(st.just("interrupt"), st.integers(0, 3)),
        st.tuples(st.just("rename"), st.integers(0, 3), st.sampled_from(["alpha", " beta ", "γ"])),
        st.tuples(st.just("fork"), st.integers(0, 3), st.sampled_from([None, 0, 1])),
        st.tuples(st.just("archive"), st.integers(0, 3)),
        st.tuples(st.just("unarchive"), st.integers(0, 3)),
        st.tuples(st.just("rollback"), st.integers(0, 3), st.integers(1, 2)),
        st.tuples(st.just("passivate"), st.integers(0, 3)),
        st.tuples(st.just("restart")),
    ),
    min_size=3,
    max_size=14,
)

SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "say": [{"type": "say", "text": "hello", "chunks": 2}],
    "reason": [{"type": "reason", "text": "thinking"}, {"type": "say", "text": "done"}],
    "exec": [{"type": "exec", "command": ["echo", "hi"]}, {"type": "say", "text": "ran"}],
    "fail": [{"type": "say", "text": "oops"}, {"type": "fail", "message": "boom"}],
}


class Model:
    """What the test believes exists."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.archived: set[str] = set()
        self.listed: set[str] = set()  # materialized with a user message
        self.acked: dict[str, list[str]] = {}


async def check(rt: Runtime, model: Model, notes: list[Notification]) -> None:
    for note in notes:
        if note.method == "item/completed" and isinstance(note.params["item"], AgentMessageItem):
            model.acked.setdefault(note.params["threadId"], []).append(note.params["item"].text)
    for tid in model.threads:
        try:
            view = await rt.read_thread(tid, include_turns=tid in model.listed)
        except ThreadError:
            assert tid not in model.listed
            continue
        if tid in model.listed:
            assert view.path is not None and view.path in rt.logs.present([view.path])
            replayed = fold_of_log(view.path, rt.logs)
            assert msgspec.to_builtins(view.turns) == msgspec.to_builtins(replayed)
            ref = rt.logs.ref_at(view.path)
            assert ref is not None
            on_disk = [
                r.line.item.message
                for r in rt.logs.read_lines(ref)
                if isinstance(r.line.item, AgentMessage)
            ]
            acked = model.acked.get(tid, [])
            assert acked == on_disk[: len(acked)] or set(acked) <= set(on_disk)
    for archived in (False, True):
        listed = await rt.list_threads(
            ListParams(archived=archived, source_kinds=list(SOURCE_KINDS), limit=100)
        )
        expected = {t for t in model.listed if (t in model.archived) == archived}
        assert {t.id for t in listed.data} == expected


def _backend(request: pytest.FixtureRequest, backend: str) -> Callable[[], dict[str, Any]]:
    """How to open each runtime of one example: the home's SQLite index, or a PostgreSQL
    schema of the example's own (whose leases the runtime then holds, as serve does), with
    the logs in the home's files or (``jetstream``) on a stream of the example's own."""
    if backend == "sqlite":
        return dict
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"r_{uuid.uuid4().hex[:16]}"
    target = None
    if backend == "jetstream":
        link = request.getfixturevalue("nats_link")
        target = parse_target(log_url(request.getfixturevalue("nats_server_info")))

    def shared() -> dict[str, Any]:
        index = PostgresIndex(dsn, schema=schema, pool_size=2)
        stores = {"index_store": index, "leases": index.leases, "host_id": "host-under-test"}
        if target is not None:  # a new store over the same stream, as after a restart
            stores["logs"] = JetStreamLogStore(target, link=link)
        return stores

    return shared


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "jetstream"])
@settings(
    max_examples=int(os.environ.get("THREADLOG_STATEFUL_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
async def test_random_op_sequences_keep_live_and_log_in_agreement(
    request: pytest.FixtureRequest, backend: str, ops: list[tuple[Any, ...]]
) -> None:
    stores = _backend(request, backend)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        model = Model()
        stack = AsyncExitStack()
        rt = await stack.enter_async_context(open_runtime(home, **stores()))
        sub = await stack.enter_async_context(rt.subscribe())
        try:
            for op in ops:
                await apply(rt, model, op)
                if op[0] == "restart":
                    await stack.aclose()
                    stack = AsyncExitStack()
                    rt = await stack.enter_async_context(open_runtime(home, **stores()))
                    sub = await stack.enter_async_context(rt.subscribe())
                with trio.fail_after(20):
                    await check(rt, model, drain(sub))
        finally:
            await stack.aclose()


def pick(model: Model, index: int) -> str | None:
    return model.threads[index % len(model.threads)] if model.threads else None


async def apply(rt: Runtime, model: Model, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "start":
        model.threads.append((await rt.start_thread()).id)
        return
    if kind == "restart":
        return
    tid = pick(model, op[1])
    if tid is None:
        return
    live = tid not in model.archived
    try:
        if kind == "turn" and live:
            await rt.start_turn(tid, script(SCRIPTS[op[2]]))
            await rt.wait_turn(tid)
            model.listed.add(tid)
        elif kind == "interrupt" and live:
            await rt.start_turn(
                tid, script([{"type": "say", "text": "wait"}, {"type": "sleep", "seconds": 30}])
            )
            model.listed.add(tid)
            await trio.sleep(0.01)
            await rt.interrupt_turn(tid)
        elif kind == "rename":
            await rt.rename_thread(tid, op[2])
        elif kind == "fork" and tid in model.listed:
            fork = await rt.fork_thread(tid, before_user_turn=op[2])
            model.threads.append(fork.id)
            # Listed when its log has a user message (rolled-back ones count too, as in Codex).
            if any(isinstance(i, UserMessage) for i in read_items(Path(fork.path or ""))):
                model.listed.add(fork.id)
        elif kind == "archive" and live and tid in model.listed:
            await rt.archive_thread(tid)
            model.archived.add(tid)
        elif kind == "unarchive" and not live:
            await rt.unarchive_thread(tid)
            model.archived.discard(tid)
        elif kind == "rollback" and live and tid in model.listed:
            await rt.rollback_thread(tid, op[2])
        elif kind == "passivate":
            await rt.unload_thread(tid)
    except ThreadError as exc:
        # Allowed refusals only: a fresh thread has no rollout yet; archived ones can't turn.
        assert "no rollout found" in exc.message or "thread not loaded" in exc.message, exc.message
