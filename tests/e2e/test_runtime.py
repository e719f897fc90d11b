"""The actor runtime through its host API: real trio tasks, real files, real SQLite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trio

from tests.support.runtime_helpers import (
    drain,
    live_equals_log,
    methods,
    open_runtime,
    script,
    text,
)
from threadlog.events.errors import ThreadError
from threadlog.events.event_msgs import AgentMessage, TurnAborted
from threadlog.events.rollout import SessionMeta, TurnContext
from threadlog.events.thread_items import AgentMessageItem, UserMessageItem
from threadlog.projections.index.listing import ListParams
from threadlog.store.names import find_thread_name
from threadlog.store.reader import read_items
from threadlog.store.statedb import StateDb


async def test_a_turn_end_to_end_with_notifications_in_order(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread()
        turn = await rt.start_turn(thread.id, text("hello"))
        assert turn.status == "inProgress"
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        assert [type(i) for i in live.turns[0].items] == [UserMessageItem, AgentMessageItem]
        assert live.turns[0].items[1].text == "Echo: hello"  # type: ignore[union-attr]
        assert live_equals_log(live)
        seen = methods(drain(sub))
        assert seen == [
            "thread/started",
            "thread/status/changed",
            "turn/started",
            "item/started",
            "item/completed",
            "item/started",
            "item/agentMessage/delta",
            "item/completed",
            "turn/completed",
            "thread/status/changed",
        ]


async def test_nothing_exists_before_the_first_turn(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        assert thread.path is not None and not Path(thread.path).exists()
        assert not (tmp_path / "sessions").exists()
        with pytest.raises(
            ThreadError, match="is not materialized yet; includeTurns is unavailable"
        ):
            await rt.read_thread(thread.id, include_turns=True)
        assert (await rt.read_thread(thread.id)).id == thread.id
        for operation in (rt.fork_thread(thread.id), rt.archive_thread(thread.id)):
            with pytest.raises(ThreadError, match=f"no rollout found for thread id {thread.id}"):
                await operation
        assert (await rt.list_threads(ListParams(source_kinds=["vscode"]))).data == []
        await rt.flush_index()
        assert rt.index is not None and rt.index.get(thread.id) is None
        await rt.start_turn(thread.id, text("first"))
        await rt.wait_turn(thread.id)
        assert Path(thread.path).exists()
        listed = await rt.list_threads(ListParams(source_kinds=["vscode"]))
        assert [t.id for t in listed.data] == [thread.id]
        assert rt.index.get(thread.id) is not None


async def test_unknown_ids(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        ghost = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
        with pytest.raises(ThreadError, match=f"thread not loaded: {ghost}"):
            await rt.start_turn(ghost, text("x"))
        with pytest.raises(ThreadError, match=f"thread not loaded: {ghost}"):
            await rt.read_thread(ghost)
        with pytest.raises(ThreadError, match="invalid thread id"):
            await rt.read_thread("../../etc/passwd")


async def test_interrupt_records_turn_aborted(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread()
        await rt.start_turn(
            thread.id,
            script([{"type": "say", "text": "partial"}, {"type": "sleep", "seconds": 30}]),
        )
        await trio.sleep(0.05)
        with trio.fail_after(5):
            await rt.interrupt_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        assert live.turns[0].status == "interrupted" and live_equals_log(live)
        assert any(
            isinstance(i, TurnAborted) and i.reason == "interrupted"
            for i in read_items(Path(live.path or ""))
        )
        completed = [n for n in drain(sub) if n.method == "turn/completed"]
        assert completed[-1].params["turn"].status == "interrupted"
        with pytest.raises(ThreadError, match="no turn is running"):
            await rt.interrupt_turn(thread.id)


@pytest.mark.parametrize("extended", [True, False])
async def test_driver_failure_ends_the_turn_failed(tmp_path: Path, extended: bool) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread(persist_extended_history=extended)
        await rt.start_turn(
            thread.id,
            script([{"type": "fail", "message": "model down", "info": "server_overloaded"}]),
        )
        await rt.wait_turn(thread.id)
        notes = drain(sub)
        error = next(n for n in notes if n.method == "error")
        assert error.params["error"].message == "model down"
        assert error.params["error"].codex_error_info == "serverOverloaded"
        completed = next(n for n in notes if n.method == "turn/completed")
        assert completed.params["turn"].status == "failed"
        live = await rt.read_thread(thread.id, include_turns=True)
        # Codex's policy persists errors only in extended mode: a limited log reads completed.
        assert live.turns[0].status == ("failed" if extended else "completed")
        assert live_equals_log(live)


async def test_resume_writes_no_new_session_meta_and_continues(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, text("one"))
        await rt.wait_turn(thread.id)
    async with open_runtime(tmp_path) as rt:
        resumed = await rt.resume_thread(thread.id)
        assert [t.status for t in resumed.turns] == ["completed"]
        await rt.start_turn(thread.id, text("two"))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        assert len(live.turns) == 2 and live_equals_log(live)
    items = read_items(Path(thread.path or ""))
    assert sum(isinstance(i, SessionMeta) for i in items) == 1


async def test_passivated_threads_reload_from_the_log(tmp_path: Path) -> None:
    async with open_runtime(tmp_path, passivation_timeout=0.2) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, text("one"))
        await rt.wait_turn(thread.id)
        before = await rt.read_thread(thread.id, include_turns=True)
        with trio.fail_after(5):
            while rt.loaded_thread_ids():
                await trio.sleep(0.05)
        after = await rt.read_thread(thread.id, include_turns=True)
        assert after.turns == before.turns
        await rt.start_turn(thread.id, text("two"))  # reloads the actor
        await rt.wait_turn(thread.id)
        assert rt.loaded_thread_ids() == [thread.id]
        live = await rt.read_thread(thread.id, include_turns=True)
        assert [t.status for t in live.turns] == ["completed", "completed"] and live_equals_log(
            live
        )


async def test_rename_loaded_and_unloaded(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread()
        await rt.rename_thread(thread.id, "  fresh name ")  # materializes the fresh thread
        assert Path(thread.path or "").exists()
        assert find_thread_name(tmp_path, thread.id) == "fresh name"
        with pytest.raises(ThreadError, match="must not be empty"):
            await rt.rename_thread(thread.id, "   ")
        names = [n for n in drain(sub) if n.method == "thread/name/updated"]
        assert names[-1].params == {"threadId": thread.id, "threadName": "fresh name"}
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        await rt.rename_thread(thread.id, "while not loaded")
        assert rt.loaded_thread_ids() == []
        read = await rt.read_thread(thread.id)
        assert read.name == "while not loaded"
        assert drain(sub)[-1].params["threadName"] == "while not loaded"
        await rt.flush_index()
        assert rt.index is not None
        row = rt.index.get(thread.id)
        assert row is not None and row.name == "while not loaded"


async def test_fork_has_its_own_identity_and_cut(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        source = await rt.start_thread()
        for word in ("one", "two", "three"):
            await rt.start_turn(source.id, text(word))
            await rt.wait_turn(source.id)
        fork = await rt.fork_thread(source.id, before_user_turn=2)
        assert fork.id != source.id and len(fork.turns) == 2
        items = read_items(Path(fork.path or ""))
        metas = [i for i in items if isinstance(i, SessionMeta)]
        assert metas[0].id == fork.id and metas[0].forked_from_id == source.id
        assert metas[1].id == source.id  # the source's meta is copied, and ignored
        fork_read = await rt.read_thread(fork.id, include_turns=True)
        assert fork_read.preview == "one" and live_equals_log(fork_read)
        whole = await rt.fork_thread(source.id)
        assert len(whole.turns) == 3


async def test_archive_unloads_a_loaded_thread(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, script([{"type": "sleep", "seconds": 30}]))
        await trio.sleep(0.05)
        await rt.archive_thread(thread.id)
        assert rt.loaded_thread_ids() == []
        archived_path = tmp_path / "archived_sessions" / Path(thread.path or "").name
        assert archived_path.exists() and not Path(thread.path or "").exists()
        assert [t.status for t in (await rt.read_thread(thread.id, include_turns=True)).turns] == [
            "interrupted"
        ]
        listed = await rt.list_threads(ListParams(archived=True, source_kinds=["vscode"]))
        assert [t.id for t in listed.data] == [thread.id]
        back = await rt.unarchive_thread(thread.id)
        assert back.path == thread.path and Path(back.path or "").exists()
        assert methods(drain(sub))[-2:] == ["thread/archived", "thread/unarchived"]
        with pytest.raises(ThreadError, match="no archived rollout found"):
            await rt.unarchive_thread(thread.id)


async def test_rollback_drops_turns(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        for word in ("one", "two", "three"):
            await rt.start_turn(thread.id, text(word))
            await rt.wait_turn(thread.id)
        with pytest.raises(ThreadError, match="numTurns must be >= 1"):
            await rt.rollback_thread(thread.id, 0)
        after = await rt.rollback_thread(thread.id, 2)
        assert len(after.turns) == 1 and live_equals_log(after)
        await rt.start_turn(thread.id, text("four"))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        assert [t.items[0].content[0].text for t in live.turns] == ["one", "four"]  # type: ignore[union-attr]


async def test_turn_context_records_date_and_zone_and_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        monkeypatch.setenv("TZ", "Europe/Berlin")
        await rt.start_turn(thread.id, text("one"))
        await rt.wait_turn(thread.id)
        await rt.start_turn(thread.id, text("two"))  # same environment: not recorded again
        await rt.wait_turn(thread.id)
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        await rt.start_turn(thread.id, text("three"))
        await rt.wait_turn(thread.id)
        items = read_items(Path(thread.path or ""))
    contexts = [i for i in items if isinstance(i, TurnContext)]
    assert [c.timezone for c in contexts] == ["Europe/Berlin", "Europe/Berlin", "Asia/Tokyo"]
    assert all(c.current_date and len(c.current_date) == 10 for c in contexts)
    env_messages = [
        i
        for i in items
        if "<environment_context>"
        in json.dumps(
            getattr(i, "content", None) and [p.text for p in i.content if hasattr(p, "text")]
        )
    ]  # type: ignore[union-attr]
    assert len(env_messages) == 2


async def test_runtime_close_leaves_every_acked_event_on_disk(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt, rt.subscribe() as sub:
        thread = await rt.start_thread()
        await rt.start_turn(
            thread.id, script([{"type": "say", "text": f"m{n}"} for n in range(20)])
        )
        await rt.wait_turn(thread.id)
        acked = [
            n.params["item"].text
            for n in drain(sub)
            if n.method == "item/completed" and isinstance(n.params["item"], AgentMessageItem)
        ]
    on_disk = [
        i.message for i in read_items(Path(thread.path or "")) if isinstance(i, AgentMessage)
    ]
    assert acked == on_disk == [f"m{n}" for n in range(20)]


async def test_a_second_process_cannot_write_a_loaded_thread(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, text("one"))
        await rt.wait_turn(thread.id)
        async with open_runtime(tmp_path, index=False) as other:
            with pytest.raises(ThreadError, match="is open in another writer"):
                await other.start_turn(thread.id, text("two"))
    assert os.path.exists(thread.path or "")


async def test_index_rows_follow_live_writes(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(
            thread.id,
            script([{"type": "tokens", "input": 10, "output": 5}, {"type": "say", "text": "x"}]),
        )
        await rt.wait_turn(thread.id)
        await rt.flush_index()
    db = StateDb.for_home(tmp_path)
    row = db.get_thread(thread.id)
    assert (
        row is not None and row.tokens_used == 15 and row.first_user_message.startswith("#script")
    )
    assert row.log_position.offset == Path(thread.path or "").stat().st_size
    assert row.log_position.identity == f"inode:{Path(thread.path or '').stat().st_ino}"
