"""Forking a thread: a new thread whose log starts with a copy of the source's lines.

The copied lines keep their bytes (kinds we do not model included); the new thread gets its
own ``session_meta`` naming the source (``forked_from_id``) and is written through its own
recorder, the one writer path, before its actor starts.
"""

from __future__ import annotations

from datetime import datetime

import trio

from threadlog.actors.runtime.actor import ThreadActor
from threadlog.actors.runtime.recorder import Recorder
from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.events.errors import ThreadNotFoundError
from threadlog.events.ids import new_id
from threadlog.events.rollout import RolloutLine, SessionMeta
from threadlog.events.views import Thread
from threadlog.projections.context import truncate_before_nth_user_turn
from threadlog.projections.index.lineage import history_lines
from threadlog.projections.policy import PersistenceMode


async def fork(
    registry: ThreadRegistry,
    thread_id: str,
    *,
    before_user_turn: int | None = None,
    cwd: str | None = None,
    persist_extended_history: bool | None = None,
) -> Thread:
    """A new thread holding the source's items (cut before a user turn if asked)."""
    tid = registry.checked_id(thread_id)
    source_actor = registry.loaded(tid)
    if source_actor is not None and not source_actor.recorder.materialized:
        raise ThreadNotFoundError(tid)
    logs = registry.logs
    ref = await trio.to_thread.run_sync(lambda: logs.locate(tid))
    if ref is None:
        raise ThreadNotFoundError(tid)
    lines = await trio.to_thread.run_sync(lambda: [r.line for r in history_lines(logs, ref)])
    items = truncate_before_nth_user_turn([line.item for line in lines], before_user_turn)
    copied: list[RolloutLine] = lines[: len(items)]
    source_meta = next((i for i in items if isinstance(i, SessionMeta)), None)
    settings = registry.settings(
        registry.defaults, cwd=cwd or (source_meta.cwd if source_meta else None)
    )
    mode: PersistenceMode = "extended" if persist_extended_history else registry.mode_of(tid)
    new_tid = new_id()
    meta = registry.new_meta(
        new_tid,
        settings,
        forked_from_id=tid,
        base_instructions=source_meta.base_instructions if source_meta else None,
        dynamic_tools=source_meta.dynamic_tools if source_meta else None,
    )
    recorder = Recorder(
        logs,
        logs.allocate(new_tid, datetime.now()),
        meta,
        mode=mode,
        durability=registry.durability,
        appends=registry.appends,
    )
    await recorder.write_lines([line.raw + b"\n" for line in copied if line.raw])
    await recorder.persist()
    actor = ThreadActor(registry, recorder, settings, items=items)
    await registry.spawn_actor(actor, mode)
    registry.index_dirty(actor.index_entry())
    return await actor.read_view(include_turns=True)
