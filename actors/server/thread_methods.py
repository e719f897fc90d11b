"""The ``thread/*`` and ``turn/*`` methods of one ``serve`` connection.

Each method decodes its params (a failure is -32602), asks the runtime, and answers in the
shapes of 0.171's schema, which 0.105's clients also read. A connection is subscribed to
the notifications of every thread until it says ``thread/unsubscribe`` for one; starting,
resuming or forking the thread subscribes it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.host_calls import HostCalls
from threadlog.actors.server.params import (
    ThreadForkParams,
    ThreadIdParams,
    ThreadLoadedListParams,
    ThreadReadParams,
    ThreadResumeParams,
    ThreadRevertParams,
    ThreadRollbackParams,
    ThreadSetNameParams,
    ThreadStartParams,
    TurnInterruptParams,
    TurnStartParams,
    dynamic_tool_specs,
    sandbox_policy_of,
    sandbox_to_v2,
    to_ops_input,
)
from threadlog.events.errors import InvalidRequestError
from threadlog.events.views import Thread
from threadlog.projections.index.listing import ListParams
from threadlog.projections.index.turns_list import TurnsListParams
from threadlog.projections.items_page import ItemsListParams, items_page

Handler = Callable[[Any], Awaitable[Any]]


class ThreadMethods:
    """The thread and turn methods of one connection (``host``: where its turns ask)."""

    def __init__(self, runtime: Runtime, host: HostCalls) -> None:
        self.runtime = runtime
        self.host = host
        self.unsubscribed: set[str] = set()
        """Threads whose notifications this connection asked not to get."""

    def handlers(self) -> dict[str, Handler]:
        """The handlers, by method."""
        return {
            "thread/start": self.thread_start,
            "thread/resume": self.thread_resume,
            "thread/fork": self.thread_fork,
            "thread/list": self.thread_list,
            "thread/read": self.thread_read,
            "thread/turns/list": self.thread_turns_list,
            "thread/items/list": self.thread_items_list,
            "thread/archive": self.thread_archive,
            "thread/unarchive": self.thread_unarchive,
            "thread/name/set": self.thread_name_set,
            "thread/rollback": self.thread_rollback,
            "thread/revert": self.thread_revert,
            "thread/unsubscribe": self.thread_unsubscribe,
            "thread/delete": self.thread_delete,
            "thread/compact/start": self.thread_compact_start,
            "thread/loaded/list": self.thread_loaded_list,
            "turn/start": self.turn_start,
            "turn/interrupt": self.turn_interrupt,
        }

    def wants(self, thread_id: str | None) -> bool:
        """Whether this connection gets a notification about ``thread_id``."""
        return thread_id is None or thread_id not in self.unsubscribed

    def _thread_response(self, thread: Thread) -> dict[str, Any]:
        """The answer to start, resume and fork: the thread this connection just opened,
        which it therefore hears about again if it had unsubscribed."""
        self.unsubscribed.discard(thread.id)
        settings = self.runtime.thread_settings(thread.id)
        return {
            "thread": thread,
            "model": settings.model,
            "modelProvider": thread.model_provider,
            "cwd": thread.cwd,
            "approvalPolicy": settings.approval_policy,
            "sandbox": sandbox_to_v2(settings.sandbox_policy),
            "reasoningEffort": settings.effort,
            # what 0.171's answer adds (its clients require them)
            "approvalsReviewer": "user",
            "serviceTier": None,
            "disabledPluginIds": [],
            "runtimeWorkspaceRoots": [thread.cwd],
            "instructionSources": [],
            "activePermissionProfile": None,
            "multiAgentMode": "explicitRequestOnly",
        }

    async def thread_start(self, raw: Any) -> Any:
        """``thread/start``."""
        params = msgspec.convert(raw, ThreadStartParams)
        if params.ephemeral:
            raise InvalidRequestError("ephemeral threads are not supported by threadlog")
        thread = await self.runtime.start_thread(
            cwd=params.cwd,
            model=params.model,
            model_provider=params.model_provider,
            approval_policy=params.approval_policy,
            sandbox_policy=sandbox_policy_of(params.sandbox),
            base_instructions=params.base_instructions,
            developer_instructions=params.developer_instructions,
            dynamic_tools=dynamic_tool_specs(params),
            persist_extended_history=params.persist_extended_history,
        )
        return self._thread_response(thread)

    async def thread_resume(self, raw: Any) -> Any:
        """``thread/resume``."""
        params = msgspec.convert(raw, ThreadResumeParams)
        thread = await self.runtime.resume_thread(
            params.thread_id, persist_extended_history=params.persist_extended_history
        )
        return self._thread_response(thread)

    async def thread_fork(self, raw: Any) -> Any:
        """``thread/fork``."""
        params = msgspec.convert(raw, ThreadForkParams)
        if params.ephemeral:
            raise InvalidRequestError("ephemeral threads are not supported by threadlog")
        thread = await self.runtime.fork_thread(
            params.thread_id,
            cwd=params.cwd,
            persist_extended_history=params.persist_extended_history,
        )
        return self._thread_response(thread)

    async def thread_list(self, raw: Any) -> Any:
        """``thread/list``."""
        return await self.runtime.list_threads(msgspec.convert(raw, ListParams))

    async def thread_read(self, raw: Any) -> Any:
        """``thread/read``."""
        params = msgspec.convert(raw, ThreadReadParams)
        thread = await self.runtime.read_thread(
            params.thread_id, include_turns=params.include_turns
        )
        return {"thread": thread, "readState": await self.runtime.read_state(thread.id)}

    async def thread_turns_list(self, raw: Any) -> Any:
        """``thread/turns/list``."""
        return await self.runtime.list_turns(msgspec.convert(raw, TurnsListParams))

    async def thread_items_list(self, raw: Any) -> Any:
        """``thread/items/list``: the thread's items, a page at a time (from one fold)."""
        params = msgspec.convert(raw, ItemsListParams)
        thread = await self.runtime.read_thread(params.thread_id, include_turns=True)
        return items_page(thread.id, thread.turns, params)

    async def thread_archive(self, raw: Any) -> Any:
        """``thread/archive``."""
        params = msgspec.convert(raw, ThreadIdParams)
        await self.runtime.archive_thread(params.thread_id)
        return {}

    async def thread_unarchive(self, raw: Any) -> Any:
        """``thread/unarchive``."""
        params = msgspec.convert(raw, ThreadIdParams)
        return {"thread": await self.runtime.unarchive_thread(params.thread_id)}

    async def thread_name_set(self, raw: Any) -> Any:
        """``thread/name/set``."""
        params = msgspec.convert(raw, ThreadSetNameParams)
        await self.runtime.rename_thread(params.thread_id, params.name)
        return {}

    async def thread_rollback(self, raw: Any) -> Any:
        """``thread/rollback``."""
        params = msgspec.convert(raw, ThreadRollbackParams)
        return {"thread": await self.runtime.rollback_thread(params.thread_id, params.num_turns)}

    async def thread_revert(self, raw: Any) -> Any:
        """``thread/revert``: the history ends before ``beforeTurnId`` (a new file of the
        thread; the turns are then paged with ``thread/turns/list`` from the newest)."""
        params = msgspec.convert(raw, ThreadRevertParams)
        thread = await self.runtime.revert_thread(params.thread_id, params.before_turn_id)
        return {"thread": thread, "turnsBackwardsCursor": None, "itemsBackwardsCursor": None}

    async def thread_delete(self, raw: Any) -> Any:
        """``thread/delete``: the thread and its files are removed."""
        params = msgspec.convert(raw, ThreadIdParams)
        await self.runtime.delete_thread(params.thread_id)
        return {}

    async def thread_unsubscribe(self, raw: Any) -> Any:
        """``thread/unsubscribe``: this connection stops hearing about the thread."""
        params = msgspec.convert(raw, ThreadIdParams)
        tid = self.runtime.checked_id(params.thread_id)
        if self.runtime.loaded(tid) is None:
            status = "notLoaded"
        elif tid in self.unsubscribed:
            status = "notSubscribed"
        else:
            self.unsubscribed.add(tid)
            status = "unsubscribed"
        return {"status": status}

    async def thread_compact_start(self, raw: Any) -> Any:
        """``thread/compact/start``: the compaction runs as a turn; its items are notified."""
        params = msgspec.convert(raw, ThreadIdParams)
        await self.runtime.compact_thread(params.thread_id)
        return {}

    async def thread_loaded_list(self, raw: Any) -> Any:
        """``thread/loaded/list``: ids sorted, the cursor is the last id returned."""
        params = msgspec.convert(raw, ThreadLoadedListParams)
        ids = self.runtime.loaded_thread_ids()
        if params.cursor is not None:
            ids = [i for i in ids if i > params.cursor]
        limit = min(max(params.limit or 25, 1), 100)
        page = ids[:limit]
        return {"data": page, "nextCursor": page[-1] if len(ids) > limit else None}

    async def turn_start(self, raw: Any) -> Any:
        """``turn/start``."""
        params = msgspec.convert(raw, TurnStartParams)
        mode = params.collaboration_mode
        if isinstance(mode, dict):
            mode = mode.get("mode") or mode.get("kind")
        turn = await self.runtime.start_turn(
            params.thread_id,
            to_ops_input(params),
            cwd=params.cwd,
            model=params.model,
            effort=params.effort,
            approval_policy=params.approval_policy,
            sandbox_policy=params.sandbox_policy,
            collaboration_mode=mode if isinstance(mode, str) else None,
            host=self.host,
        )
        return {"turn": turn}

    async def turn_interrupt(self, raw: Any) -> Any:
        """``turn/interrupt``."""
        params = msgspec.convert(raw, TurnInterruptParams)
        await self.runtime.interrupt_turn(params.thread_id, params.turn_id)
        return {}
