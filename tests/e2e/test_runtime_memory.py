"""A host's test: the real runtime on the in-memory stores, nothing written to disk."""

from __future__ import annotations

from pathlib import Path

import threadlog
from threadlog.testing import (
    MemoryIndex,
    MemoryLogStore,
    live_equals_log,
    open_runtime,
    script,
    text,
)


async def test_the_runtime_runs_on_memory_stores(tmp_path: Path) -> None:
    logs, index = MemoryLogStore(), MemoryIndex()
    async with open_runtime(tmp_path, logs=logs, index_store=index) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, script([{"type": "say", "text": "hello"}]))
        await rt.wait_turn(thread.id)
        read = await rt.read_thread(thread.id, include_turns=True)
        assert [t.status for t in read.turns] == ["completed"]
        assert read.path is not None and read.path.startswith("memory://")
        await rt.rename_thread(thread.id, "in memory")
        fork = await rt.fork_thread(thread.id)
        await rt.start_turn(fork.id, text("more"))
        await rt.wait_turn(fork.id)
        await rt.unload_thread(thread.id)
        listed = await rt.list_threads(threadlog.ListParams(limit=10))
        assert {t.id for t in listed.data} == {thread.id, fork.id}
        assert {t.id: t.name for t in listed.data}[thread.id] == "in memory"
        await rt.archive_thread(thread.id)
        archived = await rt.list_threads(threadlog.ListParams(archived=True))
        assert [t.id for t in archived.data] == [thread.id]
        back = await rt.unarchive_thread(thread.id)
        resumed = await rt.resume_thread(back.id)
        assert [t.status for t in resumed.turns] == ["completed"]
    # The rows the index holds follow the logs.
    row = index.get(fork.id)
    assert row is not None and row.forked_from_id == thread.id
    ref = logs.locate(fork.id)
    assert ref is not None and row.log_position.offset == logs.stat(ref).size
    assert not list(tmp_path.rglob("*.jsonl")) and not (tmp_path / "threadlog.sqlite").exists()


async def test_a_live_view_equals_a_fold_of_its_memory_log(tmp_path: Path) -> None:
    logs = MemoryLogStore()
    async with open_runtime(tmp_path, logs=logs, index_store=MemoryIndex()) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, script([{"type": "say", "text": "one"}]))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
    assert [t.status for t in live.turns] == ["completed"]
    assert live_equals_log(live, logs)
