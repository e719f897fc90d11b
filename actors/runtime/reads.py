"""The read side of the runtime: ``thread/read``, ``readState``, ``thread/turns/list`` and
``thread/list``, answered from a loaded thread's actor or from the logs and the index.

Reads never load a thread: a loaded one answers from its live fold, any other from its log
(in a worker thread, as every blocking read). ``Runtime`` delegates here.
"""

from __future__ import annotations

import msgspec
import trio

from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.events.errors import NotMaterializedError, ThreadNotFoundError, ThreadNotLoadedError
from threadlog.events.views import Active, Idle, ReadState, Thread
from threadlog.projections.index.listing import ListParams, ListResult, list_page
from threadlog.projections.index.read_thread import read_thread as read_from_log
from threadlog.projections.index.read_thread import thread_read_state
from threadlog.projections.index.turns_list import TurnsListParams
from threadlog.projections.index.turns_list import list_turns as list_turns_of_log
from threadlog.projections.turns_page import TurnsPage


async def read_thread(registry: ThreadRegistry, thread_id: str, *, include_turns: bool) -> Thread:
    """``thread/read``: the live view of a loaded thread, else read from its log."""
    tid = registry.checked_id(thread_id)
    actor = registry.loaded(tid)
    if actor is not None:
        if include_turns and not actor.recorder.materialized:
            raise NotMaterializedError(tid)
        return await actor.read_view(include_turns=include_turns)
    logs = registry.logs
    try:
        return await trio.to_thread.run_sync(
            lambda: read_from_log(logs, tid, include_turns=include_turns)
        )
    except ThreadNotFoundError:
        raise ThreadNotLoadedError(tid) from None


async def read_state(registry: ThreadRegistry, thread_id: str) -> ReadState:
    """A thread's ``readState``: its own first turn unread (no receipts are kept)."""
    tid = registry.checked_id(thread_id)
    logs = registry.logs
    return await trio.to_thread.run_sync(lambda: thread_read_state(logs, tid))


async def list_turns(registry: ThreadRegistry, params: TurnsListParams) -> TurnsPage:
    """``thread/turns/list``: a page of a thread's turns, from the turn index when it can."""
    registry.checked_id(params.thread_id)
    await registry.syncer.flush()
    logs, index = registry.logs, registry.index
    try:
        return await trio.to_thread.run_sync(lambda: list_turns_of_log(logs, params, index=index))
    except ThreadNotFoundError:
        raise ThreadNotLoadedError(params.thread_id) from None


async def list_threads(
    registry: ThreadRegistry, params: ListParams, *, default_provider: str
) -> ListResult:
    """``thread/list``, with the status of loaded threads filled in."""
    await registry.syncer.flush()
    logs, index = registry.logs, registry.index
    result = await trio.to_thread.run_sync(
        lambda: list_page(logs, params, index=index, default_provider=default_provider)
    )
    data = []
    for thread in result.data:
        actor = registry.loaded(thread.id)
        if actor is not None:
            status = Active() if actor.active is not None else Idle()
            thread = msgspec.structs.replace(thread, status=status)
        data.append(thread)
    return msgspec.structs.replace(result, data=data)
