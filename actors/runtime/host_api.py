"""The runtime a host embeds: one nursery, one actor per loaded thread, the host API.

``async with Runtime(home, driver=...) as rt:`` opens the state DB, starts the index sync
and (when the index is incomplete) a background backfill, and from then on serves the host
API: start, resume, fork, read, list, rename, archive, unarchive and roll back threads;
start and interrupt turns; subscribe to notifications. Every blocking call (files, fsync,
SQLite) runs in a worker thread. Leaving the block stops every actor, flushing what they
wrote, and closes the database.

The loaded actors and the services they share live in ``registry.ThreadRegistry``; this
module is the facade and the lifecycle around it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import trio

from threadlog.actors.drivers.protocol import Driver
from threadlog.actors.realtime.session import AUDIO_QUEUE, TEXT_QUEUE, RealtimeTransport
from threadlog.actors.runtime import reads, thread_files
from threadlog.actors.runtime.actor import ThreadActor
from threadlog.actors.runtime.fork import fork
from threadlog.actors.runtime.host_calls import (
    ApprovalHandler,
    CallbackHost,
    DynamicToolHandler,
    HostCalls,
)
from threadlog.actors.runtime.index_sync import IndexSyncer
from threadlog.actors.runtime.ownership import LEASE_MS, Ownership
from threadlog.actors.runtime.prompting import compact
from threadlog.actors.runtime.realtime_api import RealtimeApi
from threadlog.actors.runtime.recorder import Recorder
from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.actors.runtime.subscribers import SUBSCRIBER_BUFFER
from threadlog.actors.shell.executor import CommandExecutor
from threadlog.events import notifications as notes
from threadlog.events.errors import (
    InvalidRequestError,
    ThreadNotFoundError,
    ThreadNotLoadedError,
)
from threadlog.events.ids import new_id
from threadlog.events.ops import UserInputItem
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.views import ReadState, Thread, Turn
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.listing import (
    ListParams,
    ListResult,
    index_is_usable,
)
from threadlog.projections.index.turns_list import TurnsListParams
from threadlog.projections.policy import PersistenceMode
from threadlog.projections.turns_page import TurnsPage
from threadlog.store.codex_config import configured_provider
from threadlog.store.files import FileLogStore
from threadlog.store.layout import make_private_dirs
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import Durability, IndexStore, LogStore, ThreadLeases
from threadlog.store.sqlite_index import SqliteIndex

log = get_logger("threadlog.runtime")


class Runtime:
    """The embedded thread runtime; use as an async context manager."""

    def __init__(
        self,
        home: Path,
        *,
        driver: Driver,
        durability: Durability = "fsync",
        passivation_timeout: float = 300.0,
        executor: CommandExecutor | None = None,
        dynamic_tool_handler: DynamicToolHandler | None = None,
        dynamic_tool_timeout: float = 300.0,
        approval_handler: ApprovalHandler | None = None,
        realtime_transport: RealtimeTransport | None = None,
        realtime_audio_queue: int = AUDIO_QUEUE,
        realtime_text_queue: int = TEXT_QUEUE,
        persistence: PersistenceMode = "limited",
        source: Any = "vscode",
        defaults: ThreadSettings | None = None,
        index: bool = True,
        index_interval: float = 0.05,
        logs: LogStore | None = None,
        index_store: IndexStore | None = None,
        defer_index: bool = False,
        leases: ThreadLeases | None = None,
        host_id: str | None = None,
        lease_ms: int = LEASE_MS,
    ) -> None:
        """``logs`` and ``index_store`` choose the storage backends (default: the rollout
        files and ``threadlog.sqlite`` of ``home``); ``index=False`` runs without an index.
        ``defer_index``: the index is opened (migrated, checked) in the background, so the
        runtime is entered at once; ``ready`` is set when it is open (a server answers
        ``initialize`` before that, and waits for it with any other request).
        ``leases``: hosts sharing the log and the index own threads one at a time; this one
        is ``host_id`` (default: hostname:pid), each lease living ``lease_ms``."""
        self.home = Path(home).resolve()
        self.registry = ThreadRegistry(
            self.home,
            driver=driver,
            executor=executor or CommandExecutor(),
            host=CallbackHost(dynamic_tool_handler, approval_handler),
            dynamic_tool_timeout=dynamic_tool_timeout,
            durability=durability,
            persistence=persistence,
            source=source,
            defaults=defaults or ThreadSettings(cwd=os.getcwd()),
            index_interval=index_interval,
            logs=logs or FileLogStore(self.home),
        )
        self._given_index = index_store
        # What thread/list shows without modelProviders: the home's configured provider, as
        # Codex lists; in a home that configures none, the provider this runtime writes.
        self.listing_provider = (
            configured_provider(self.home) or self.registry.defaults.model_provider
        )
        self.passivation_timeout = passivation_timeout
        self.realtime = RealtimeApi(
            self.registry,
            realtime_transport,
            audio_capacity=realtime_audio_queue,
            text_capacity=realtime_text_queue,
        )
        self.use_index = index
        self.registry.syncer.disabled = not index
        self._backfill_index: IndexStore | None = None
        self._stack = AsyncExitStack()
        self.backfill_done = trio.Event()
        self._stop_backfill = threading.Event()
        self.defer_index = defer_index
        self.ready = trio.Event()
        if leases is not None:
            host = host_id or f"{socket.gethostname()}:{os.getpid()}"
            self.registry.ownership = Ownership(leases, host, lease_ms)

    @property
    def index(self) -> IndexStore | None:
        """The index (None when the runtime runs without one)."""
        return self.registry.index

    @property
    def logs(self) -> LogStore:
        """Where the threads' logs live."""
        return self.registry.logs

    @property
    def syncer(self) -> IndexSyncer:
        """The live index sync."""
        return self.registry.syncer

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await trio.to_thread.run_sync(make_private_dirs, self.home)
        registry = self.registry
        nursery = await self._stack.enter_async_context(trio.open_nursery())
        registry.nursery = nursery
        registry.appends.start()
        nursery.start_soon(registry.syncer.run)
        if self.passivation_timeout > 0:
            nursery.start_soon(self._sweep_idle)
        if registry.ownership is not None:
            nursery.start_soon(registry.ownership.renew_forever)
        if self.defer_index:
            nursery.start_soon(self._open_index)
        else:
            await self._open_index()
        return self

    async def _open_index(self) -> None:
        """Open (and migrate, and check) the index; start a backfill if it is not complete.

        ``ready`` is set after it, even when opening failed (the runtime then answers from
        the logs alone): a waiting request must not wait for ever."""
        registry = self.registry
        try:
            if self.use_index:
                registry.index = self._given_index or await trio.to_thread.run_sync(
                    SqliteIndex.for_home, self.home
                )
                registry.syncer.index = registry.index
            index = registry.index
            if index is not None and not await trio.to_thread.run_sync(index_is_usable, index):
                assert registry.nursery is not None
                registry.nursery.start_soon(self._backfill)
            else:
                self.backfill_done.set()
        except Exception:
            self.backfill_done.set()
            if not self.defer_index:
                raise
            log.exception("index_open_failed", home=str(self.home))
        except BaseException:  # cancelled (the runtime is closing): nothing to report
            self.backfill_done.set()
            raise
        finally:
            self.ready.set()

    async def __aexit__(self, *exc: object) -> None:
        try:
            self._stop_backfill.set()
            await self.shutdown()
            with trio.CancelScope(shield=True):
                await self.backfill_done.wait()
        finally:
            nursery = self.registry.nursery
            assert nursery is not None
            nursery.cancel_scope.cancel()
            await self._stack.aclose()
            for index in {
                id(i): i for i in (self.registry.index, self._backfill_index) if i
            }.values():
                await trio.to_thread.run_sync(index.close)

    async def shutdown(self) -> None:
        """Stop every actor (their running turns end interrupted) and flush the index."""
        with trio.CancelScope(shield=True):
            for actor in self.registry.loaded_actors():
                actor.stop()
                await actor.stopped.wait()
            await self.registry.syncer.flush()
            await self.registry.appends.aclose()  # what is in flight still completes

    async def _sweep_idle(self) -> None:
        """Passivate actors idle for longer than the timeout."""
        period = max(self.passivation_timeout / 4, 0.01)
        while True:
            await trio.sleep(period)
            now = trio.current_time()
            for thread_id in self.registry.loaded_thread_ids():
                actor = self.registry.loaded(thread_id)
                since = actor.idle_since if actor is not None else None
                if (
                    actor is not None
                    and since is not None
                    and now - since >= self.passivation_timeout
                ):
                    actor.stop()

    async def _backfill(self) -> None:
        # Its own connection: listing keeps answering (from the logs) while this runs.
        try:
            if self._given_index is not None:
                self._backfill_index = self._given_index
            else:
                self._backfill_index = await trio.to_thread.run_sync(
                    SqliteIndex.for_home, self.home
                )
            index, logs = self._backfill_index, self.registry.logs
            await trio.to_thread.run_sync(lambda: run_backfill(logs, index), abandon_on_cancel=True)
        except Exception:
            log.exception("background_backfill_failed")
        finally:
            self.backfill_done.set()

    # --- notifications -----------------------------------------------------------------

    def publish(self, notification: notes.Notification) -> None:
        """Deliver to every matching subscriber (see ``Subscribers``)."""
        self.registry.publish(notification)

    def subscribe(
        self, thread_id: str | None = None, *, buffer: int = SUBSCRIBER_BUFFER
    ) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[notes.Notification]]:
        """Notifications about one thread (or all); closed when the block ends."""
        return self.registry.subscribe(thread_id, buffer=buffer)

    # --- threads -----------------------------------------------------------------------

    def checked_id(self, thread_id: object) -> str:
        """A thread id from outside, validated (``InvalidThreadIdError`` when it is not one)."""
        return self.registry.checked_id(thread_id)

    def loaded(self, thread_id: str) -> ThreadActor | None:
        """A thread's actor if it is loaded now."""
        return self.registry.loaded(thread_id)

    async def start_thread(
        self,
        *,
        cwd: str | None = None,
        model: str | None = None,
        model_provider: str | None = None,
        approval_policy: Any = None,
        sandbox_policy: Any = None,
        base_instructions: str | None = None,
        developer_instructions: str | None = None,
        dynamic_tools: Sequence[DynamicToolSpec] | None = None,
        persist_extended_history: bool | None = None,
    ) -> Thread:
        """A new, deferred thread: its path is chosen, nothing is written yet."""
        registry = self.registry
        settings = registry.settings(
            registry.defaults,
            cwd=cwd,
            developer_instructions=developer_instructions,
            model=model,
            model_provider=model_provider,
            approval_policy=approval_policy,
            sandbox_policy=sandbox_policy,
        )
        mode: PersistenceMode = "extended" if persist_extended_history else registry.persistence
        if persist_extended_history is False:
            mode = "limited"
        thread_id = new_id()
        meta = registry.new_meta(
            thread_id,
            settings,
            base_instructions={"text": base_instructions} if base_instructions else None,
            dynamic_tools=list(dynamic_tools) if dynamic_tools else None,
        )
        ref = registry.logs.allocate(thread_id, datetime.now())
        recorder = Recorder(
            registry.logs,
            ref,
            meta,
            mode=mode,
            durability=registry.durability,
            appends=registry.appends,
        )
        actor = await registry.spawn_actor(ThreadActor(registry, recorder, settings), mode)
        thread = await actor.read_view(include_turns=False)
        self.publish(notes.thread_started(thread))
        return thread

    async def resume_thread(
        self, thread_id: str, *, persist_extended_history: bool | None = None
    ) -> Thread:
        """Load a thread from its log (no new ``session_meta``); returns it with its turns."""
        mode: PersistenceMode | None = None
        if persist_extended_history is not None:
            mode = "extended" if persist_extended_history else "limited"
        actor = await self.registry.actor(thread_id, mode=mode)
        assert actor is not None
        return await actor.read_view(include_turns=True)

    async def fork_thread(
        self,
        thread_id: str,
        *,
        before_user_turn: int | None = None,
        cwd: str | None = None,
        persist_extended_history: bool | None = None,
    ) -> Thread:
        """A new thread holding the source's items (cut before a user turn if asked)."""
        thread = await fork(
            self.registry,
            thread_id,
            before_user_turn=before_user_turn,
            cwd=cwd,
            persist_extended_history=persist_extended_history,
        )
        self.publish(notes.thread_started(thread))
        return thread

    async def read_thread(self, thread_id: str, *, include_turns: bool = False) -> Thread:
        """``thread/read``: the live view of a loaded thread, else read from its file."""
        return await reads.read_thread(self.registry, thread_id, include_turns=include_turns)

    async def read_state(self, thread_id: str) -> ReadState:
        """A thread's ``readState`` (no read receipts are kept: its first turn is unread)."""
        return await reads.read_state(self.registry, thread_id)

    async def list_turns(self, params: TurnsListParams) -> TurnsPage:
        """``thread/turns/list``: a page of a thread's turns, newest first by default."""
        return await reads.list_turns(self.registry, params)

    async def list_threads(self, params: ListParams | None = None) -> ListResult:
        """``thread/list``, with the status of loaded threads filled in."""
        return await reads.list_threads(
            self.registry, params or ListParams(), default_provider=self.listing_provider
        )

    def thread_settings(self, thread_id: str) -> ThreadSettings:
        """The settings a loaded thread runs with (the defaults for others)."""
        return self.registry.thread_settings(thread_id)

    def loaded_thread_ids(self) -> list[str]:
        """Ids of the threads loaded right now, sorted."""
        return self.registry.loaded_thread_ids()

    async def rename_thread(self, thread_id: str, name: str) -> None:
        """Name a thread, loaded or not: log line, name index, database, notification."""
        await thread_files.rename(self.registry, self.registry.checked_id(thread_id), name)

    async def unload_thread(self, thread_id: str) -> None:
        """Passivate a loaded thread now (its running turn ends interrupted)."""
        await self.registry.unload(thread_id)

    async def archive_thread(self, thread_id: str) -> None:
        """Unload the thread, move its file to ``archived_sessions/``, update the index."""
        await thread_files.archive(self.registry, self.registry.checked_id(thread_id))

    async def unarchive_thread(self, thread_id: str) -> Thread:
        """Move an archived thread back under ``sessions/`` (mtime now) and return it."""
        return await thread_files.unarchive(self.registry, self.registry.checked_id(thread_id))

    async def delete_thread(self, thread_id: str) -> None:
        """Remove a thread and every file of it (0.171's ``thread/delete``)."""
        await thread_files.delete(self.registry, self.registry.checked_id(thread_id))

    async def revert_thread(self, thread_id: str, before_turn_id: str) -> Thread:
        """End the thread's history before a turn, in a new file of the thread (0.171)."""
        return await thread_files.revert(
            self.registry, self.registry.checked_id(thread_id), before_turn_id
        )

    async def rollback_thread(self, thread_id: str, num_turns: int) -> Thread:
        """Drop the last ``num_turns`` turns (recorded as ``thread_rolled_back``)."""
        if num_turns < 1:
            raise InvalidRequestError("numTurns must be >= 1")
        actor = await self.registry.loaded_actor(thread_id)
        return await actor.call(lambda: actor.rollback(num_turns))

    # --- turns -------------------------------------------------------------------------

    async def start_turn(
        self,
        thread_id: str,
        inputs: Sequence[UserInputItem],
        *,
        cwd: str | None = None,
        model: str | None = None,
        effort: str | None = None,
        approval_policy: Any = None,
        sandbox_policy: Any = None,
        collaboration_mode: str | None = None,
        host: HostCalls | None = None,
    ) -> Turn:
        """Start a turn; returns at once with the turn ``inProgress``.

        ``host`` is asked for dynamic tools and approvals during the turn (a server passes
        the connection that asked for the turn); without one, the runtime's callbacks are.
        """
        registry = self.registry
        tid = registry.checked_id(thread_id)
        try:
            actor = await registry.loaded_actor(tid)
        except ThreadNotFoundError:
            raise ThreadNotLoadedError(tid) from None
        settings = registry.settings(
            actor.settings,
            cwd=cwd,
            model=model,
            effort=effort,
            approval_policy=approval_policy,
            sandbox_policy=sandbox_policy,
            collaboration_mode=collaboration_mode,
        )
        return await actor.call(lambda: actor.start_turn(list(inputs), settings, host))

    async def compact_thread(self, thread_id: str) -> str:
        """Compact the model-visible history now (a turn of its own); returns its turn id."""
        actor = await self.registry.loaded_actor(thread_id)
        return await actor.call(lambda: compact(actor))

    async def interrupt_turn(self, thread_id: str, turn_id: str | None = None) -> None:
        """Interrupt the running turn; returns once it has ended ``interrupted``."""
        tid = self.registry.checked_id(thread_id)
        actor = self.registry.loaded(tid)
        if actor is None:
            raise ThreadNotLoadedError(tid)
        await actor.call(lambda: actor.interrupt(turn_id))

    async def wait_turn(self, thread_id: str) -> None:
        """Wait until the thread has no running turn."""
        actor = self.registry.loaded(self.registry.checked_id(thread_id))
        if actor is not None and actor.active is not None:
            await actor.active.done.wait()

    async def flush_index(self) -> None:
        """Write pending index rows now."""
        await self.registry.syncer.flush()
