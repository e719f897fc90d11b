"""The runtime a host embeds: one nursery, one actor per loaded thread, the host API.

``async with Runtime(home, driver=...) as rt:`` opens the state DB, starts the index sync
and (when the index is incomplete) a background backfill, and from then on serves the host
API: start, resume, fork, read, list, rename, archive, unarchive and roll back threads;
start and interrupt turns; subscribe to notifications. Every blocking call (files, fsync,
SQLite) runs in a worker thread. Leaving the block stops every actor, flushing what they
wrote, and closes the database.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import structlog
import trio

from threadlog.actors import notifications as notes
from threadlog.actors import thread_files
from threadlog.actors.actor import ThreadActor, ThreadSettings
from threadlog.actors.driver import Driver
from threadlog.actors.environment import current_environment
from threadlog.actors.executor import CommandExecutor
from threadlog.actors.index_sync import IndexSyncer
from threadlog.actors.loader import load_thread
from threadlog.actors.prompting import compact
from threadlog.actors.realtime import AUDIO_QUEUE, TEXT_QUEUE, RealtimeTransport
from threadlog.actors.realtime_api import RealtimeApi
from threadlog.actors.recorder import Recorder, now_ms
from threadlog.actors.subscribers import SUBSCRIBER_BUFFER, Subscribers
from threadlog.events import __version__
from threadlog.events.errors import (
    InvalidRequestError,
    InvalidThreadIdError,
    NotMaterializedError,
    ThreadLockedError,
    ThreadNotFoundError,
    ThreadNotLoadedError,
)
from threadlog.events.ids import new_id, parse_thread_id
from threadlog.events.ops import UserInputItem
from threadlog.events.rollout import DynamicToolSpec, RolloutLine, SessionMeta
from threadlog.events.timefmt import format_timestamp_ms, timestamp_to_ms
from threadlog.events.views import Active, Idle, Thread, Turn
from threadlog.projections.backfill import run_backfill
from threadlog.projections.context import truncate_before_nth_user_turn
from threadlog.projections.listing import ListParams, ListResult, db_is_usable, list_threads
from threadlog.projections.policy import PersistenceMode
from threadlog.projections.read_thread import read_thread
from threadlog.store.appender import Durability, WriterLockedError
from threadlog.store.layout import find_rollout_path, new_rollout_path
from threadlog.store.reader import read_rollout
from threadlog.store.statedb import StateDb

log = structlog.get_logger("threadlog.runtime")
DynamicToolHandler = (
    Any  # async (thread_id, turn_id, call_id, tool, arguments) -> DynamicToolResult
)
ApprovalHandler = Any  # async (thread_id, turn_id, call_id, command, cwd) -> decision


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
    ) -> None:
        self.home = Path(home).resolve()
        self.driver = driver
        self.durability: Durability = durability
        self.passivation_timeout = passivation_timeout
        self.executor = executor or CommandExecutor()
        self.dynamic_tool_handler = dynamic_tool_handler
        self.dynamic_tool_timeout = dynamic_tool_timeout
        self.approval_handler = approval_handler
        self.realtime = RealtimeApi(
            self,
            realtime_transport,
            audio_capacity=realtime_audio_queue,
            text_capacity=realtime_text_queue,
        )
        self.persistence: PersistenceMode = persistence
        self.source = source
        self.defaults = defaults or ThreadSettings(cwd=os.getcwd())
        self.use_index = index
        self.db: StateDb | None = None
        self._backfill_db: StateDb | None = None
        self.syncer = IndexSyncer(None, index_interval)
        self._actors: dict[str, ThreadActor] = {}
        self._stopping: dict[str, ThreadActor] = {}
        self._modes: dict[str, PersistenceMode] = {}
        self._load_locks: dict[str, trio.Lock] = {}
        self.subscribers = Subscribers()
        self._stack = AsyncExitStack()
        self._nursery: trio.Nursery | None = None
        self.backfill_done = trio.Event()
        self._stop_backfill = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await trio.to_thread.run_sync(lambda: self.home.mkdir(parents=True, exist_ok=True))
        if self.use_index:
            self.db = await trio.to_thread.run_sync(StateDb.for_home, self.home)
            self.syncer.db = self.db
        self._nursery = await self._stack.enter_async_context(trio.open_nursery())
        self._nursery.start_soon(self.syncer.run)
        if self.passivation_timeout > 0:
            self._nursery.start_soon(self._sweep_idle)
        if self.db is not None and not await trio.to_thread.run_sync(db_is_usable, self.db):
            self._nursery.start_soon(self._backfill)
        else:
            self.backfill_done.set()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            self._stop_backfill.set()
            await self.shutdown()
            with trio.CancelScope(shield=True):
                await self.backfill_done.wait()
        finally:
            assert self._nursery is not None
            self._nursery.cancel_scope.cancel()
            await self._stack.aclose()
            for db in (self.db, self._backfill_db):
                if db is not None:
                    await trio.to_thread.run_sync(db.close)

    async def shutdown(self) -> None:
        """Stop every actor (their running turns end interrupted) and flush the index."""
        with trio.CancelScope(shield=True):
            for actor in list(self._actors.values()) + list(self._stopping.values()):
                actor.stop()
                await actor.stopped.wait()
            await self.syncer.flush()

    def spawn(self, fn: Any, *args: Any) -> None:
        """Run a task in the runtime's nursery (turns live here, not in their actor)."""
        assert self._nursery is not None
        self._nursery.start_soon(fn, *args)

    async def _sweep_idle(self) -> None:
        """Passivate actors idle for longer than the timeout."""
        period = max(self.passivation_timeout / 4, 0.01)
        while True:
            await trio.sleep(period)
            now = trio.current_time()
            for actor in list(self._actors.values()):
                since = actor.idle_since
                if since is not None and now - since >= self.passivation_timeout:
                    actor.stop()

    async def _backfill(self) -> None:
        # Its own connection: listing keeps answering (from the files) while this runs.
        try:
            self._backfill_db = await trio.to_thread.run_sync(StateDb.for_home, self.home)
            db = self._backfill_db
            await trio.to_thread.run_sync(
                lambda: run_backfill(self.home, db), abandon_on_cancel=True
            )
        except Exception:
            log.exception("background_backfill_failed")
        finally:
            self.backfill_done.set()

    # --- registry ----------------------------------------------------------------------

    def unregister(self, actor: ThreadActor) -> None:
        """Called by an actor as it stops; a later request loads the thread again."""
        if self._actors.get(actor.thread_id) is actor:
            del self._actors[actor.thread_id]
            self._stopping[actor.thread_id] = actor

    def index_dirty(self, actor: ThreadActor) -> None:
        """An actor wrote: its row should follow."""
        if actor.recorder.materialized:
            self.syncer.mark(actor.record())

    def created_ms_of(self, meta: SessionMeta) -> int:
        """Creation time of a thread from its meta."""
        try:
            return timestamp_to_ms(meta.timestamp)
        except ValueError:
            return now_ms()

    async def _spawn(self, actor: ThreadActor, mode: PersistenceMode) -> ThreadActor:
        assert self._nursery is not None
        self._actors[actor.thread_id] = actor
        self._modes[actor.thread_id] = mode
        await self._nursery.start(self._run_actor, actor)
        return actor

    async def _run_actor(
        self, actor: ThreadActor, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            await actor.run(task_status=task_status)
        finally:
            actor.stop()
            if self._stopping.get(actor.thread_id) is actor:
                del self._stopping[actor.thread_id]

    async def _actor(
        self, thread_id: str, *, load: bool = True, mode: PersistenceMode | None = None
    ) -> ThreadActor | None:
        """The loaded actor of a thread, loading it from its log when asked."""
        tid = self._id(thread_id)
        lock = self._load_locks.setdefault(tid, trio.Lock())
        async with lock:
            actor = self._actors.get(tid)
            if actor is not None or not load:
                return actor
            leaving = self._stopping.get(tid)
            if leaving is not None:
                await leaving.stopped.wait()
            shell = current_environment(self.defaults.cwd).shell
            loaded = await trio.to_thread.run_sync(
                load_thread, self.home, tid, self.defaults, shell
            )
            chosen: PersistenceMode = mode or self._modes.get(tid, self.persistence)
            try:
                recorder = await Recorder.reopen(
                    loaded.path, loaded.meta, mode=chosen, durability=self.durability
                )
            except WriterLockedError:
                raise ThreadLockedError(
                    f"thread {tid} is open for writing in another process"
                ) from None
            actor = ThreadActor(
                self,
                recorder,
                loaded.settings,
                items=loaded.items,
                name=loaded.name,
                told=loaded.told,
                dynamic_tools=await self._stored_dynamic_tools(tid),
            )
            return await self._spawn(actor, chosen)

    async def _stored_dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools from the database (None: ask the log instead)."""
        db = self.db
        if db is None:
            return None
        try:
            return await trio.to_thread.run_sync(db.get_dynamic_tools, thread_id)
        except Exception as exc:  # a broken index must not stop a thread from loading
            log.warning("dynamic_tools_from_db_failed", thread_id=thread_id, error=str(exc))
            return None

    async def loaded_actor(self, thread_id: str) -> ThreadActor:
        """A thread's actor, loading it from its log if needed."""
        actor = await self._actor(thread_id)
        assert actor is not None
        return actor

    def loaded(self, thread_id: str) -> ThreadActor | None:
        """A thread's actor if it is loaded now."""
        return self._actors.get(thread_id)

    def checked_id(self, thread_id: object) -> str:
        """A thread id from outside, validated (``InvalidThreadIdError`` when it is not one)."""
        return self._id(thread_id)

    def _id(self, thread_id: object) -> str:
        try:
            return parse_thread_id(thread_id)
        except ValueError:
            raise InvalidThreadIdError(thread_id) from None

    # --- notifications -----------------------------------------------------------------

    def publish(self, notification: notes.Notification) -> None:
        """Deliver to every matching subscriber (see ``Subscribers``)."""
        self.subscribers.publish(notification)

    def subscribe(
        self, thread_id: str | None = None, *, buffer: int = SUBSCRIBER_BUFFER
    ) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[notes.Notification]]:
        """Notifications about one thread (or all); closed when the block ends."""
        return self.subscribers.subscribe(self._id(thread_id) if thread_id else None, buffer)

    # --- threads -----------------------------------------------------------------------

    def _settings(self, base: ThreadSettings, **overrides: Any) -> ThreadSettings:
        changes = {k: v for k, v in overrides.items() if v is not None}
        return msgspec.structs.replace(base, **changes) if changes else base

    def _new_meta(self, thread_id: str, settings: ThreadSettings, **extra: Any) -> SessionMeta:
        return SessionMeta(
            id=thread_id,
            timestamp=format_timestamp_ms(now_ms()),
            cwd=settings.cwd,
            originator="threadlog",
            cli_version=__version__,
            source=self.source,
            model_provider=settings.model_provider,
            **extra,
        )

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
        settings = self._settings(
            self.defaults,
            cwd=cwd,
            developer_instructions=developer_instructions,
            model=model,
            model_provider=model_provider,
            approval_policy=approval_policy,
            sandbox_policy=sandbox_policy,
        )
        mode: PersistenceMode = "extended" if persist_extended_history else self.persistence
        if persist_extended_history is False:
            mode = "limited"
        thread_id = new_id()
        meta = self._new_meta(
            thread_id,
            settings,
            base_instructions={"text": base_instructions} if base_instructions else None,
            dynamic_tools=list(dynamic_tools) if dynamic_tools else None,
        )
        path = new_rollout_path(self.home, thread_id, datetime.now())
        recorder = Recorder(path, meta, mode=mode, durability=self.durability)
        actor = await self._spawn(ThreadActor(self, recorder, settings), mode)
        thread = await actor.call(lambda: _async(actor.view(include_turns=False)))
        self.publish(notes.thread_started(thread))
        return thread

    async def resume_thread(
        self, thread_id: str, *, persist_extended_history: bool | None = None
    ) -> Thread:
        """Load a thread from its log (no new ``session_meta``); returns it with its turns."""
        mode: PersistenceMode | None = None
        if persist_extended_history is not None:
            mode = "extended" if persist_extended_history else "limited"
        actor = await self._actor(thread_id, mode=mode)
        assert actor is not None
        return await actor.call(lambda: _async(actor.view(include_turns=True)))

    async def fork_thread(
        self,
        thread_id: str,
        *,
        before_user_turn: int | None = None,
        cwd: str | None = None,
        persist_extended_history: bool | None = None,
    ) -> Thread:
        """A new thread holding the source's items (cut before a user turn if asked)."""
        tid = self._id(thread_id)
        source_actor = self._actors.get(tid)
        if source_actor is not None and not source_actor.recorder.materialized:
            raise ThreadNotFoundError(tid)
        path = await trio.to_thread.run_sync(find_rollout_path, self.home, tid)
        if path is None:
            raise ThreadNotFoundError(tid)
        lines = await trio.to_thread.run_sync(lambda: [r.line for r in read_rollout(path)])
        items = truncate_before_nth_user_turn([line.item for line in lines], before_user_turn)
        copied: list[RolloutLine] = lines[: len(items)]
        source_meta = next((i for i in items if isinstance(i, SessionMeta)), None)
        settings = self._settings(
            self.defaults, cwd=cwd or (source_meta.cwd if source_meta else None)
        )
        mode: PersistenceMode = (
            "extended" if persist_extended_history else self._modes.get(tid, self.persistence)
        )
        new_tid = new_id()
        meta = self._new_meta(
            new_tid,
            settings,
            forked_from_id=tid,
            base_instructions=source_meta.base_instructions if source_meta else None,
            dynamic_tools=source_meta.dynamic_tools if source_meta else None,
        )
        recorder = Recorder(
            new_rollout_path(self.home, new_tid, datetime.now()),
            meta,
            mode=mode,
            durability=self.durability,
        )
        await recorder.write_lines(
            [line.raw + b"\n" if line.raw else b"" for line in copied if line.raw]
        )
        await recorder.persist()
        actor = ThreadActor(self, recorder, settings, items=items)
        await self._spawn(actor, mode)
        self.index_dirty(actor)
        thread = await actor.call(lambda: _async(actor.view(include_turns=True)))
        self.publish(notes.thread_started(thread))
        return thread

    async def read_thread(self, thread_id: str, *, include_turns: bool = False) -> Thread:
        """``thread/read``: the live view of a loaded thread, else read from its file."""
        tid = self._id(thread_id)
        actor = self._actors.get(tid)
        if actor is not None:
            if include_turns and not actor.recorder.materialized:
                raise NotMaterializedError(tid)
            return await actor.call(lambda: _async(actor.view(include_turns=include_turns)))
        try:
            return await trio.to_thread.run_sync(
                lambda: read_thread(self.home, tid, include_turns=include_turns)
            )
        except ThreadNotFoundError:
            raise ThreadNotLoadedError(tid) from None

    async def list_threads(self, params: ListParams | None = None) -> ListResult:
        """``thread/list``, with the status of loaded threads filled in."""
        await self.syncer.flush()
        query = params or ListParams()
        db = self.db
        result = await trio.to_thread.run_sync(lambda: list_threads(self.home, query, db=db))
        data = []
        for thread in result.data:
            actor = self._actors.get(thread.id)
            if actor is not None:
                status = Active() if actor.active is not None else Idle()
                thread = msgspec.structs.replace(thread, status=status)
            data.append(thread)
        return ListResult(data=data, next_cursor=result.next_cursor)

    def thread_settings(self, thread_id: str) -> ThreadSettings:
        """The settings a loaded thread runs with (the defaults for others)."""
        actor = self._actors.get(thread_id)
        return actor.settings if actor is not None else self.defaults

    def loaded_thread_ids(self) -> list[str]:
        """Ids of the threads loaded right now, sorted."""
        return sorted(self._actors)

    async def rename_thread(self, thread_id: str, name: str) -> None:
        """Name a thread, loaded or not: log line, name index, database, notification."""
        await thread_files.rename(self, self._id(thread_id), name)

    async def unload_thread(self, thread_id: str) -> None:
        """Passivate a loaded thread now (its running turn ends interrupted)."""
        tid = self._id(thread_id)
        actor = self._actors.get(tid)
        if actor is not None:
            actor.stop()
            await actor.stopped.wait()
        await self.syncer.flush()

    async def archive_thread(self, thread_id: str) -> None:
        """Unload the thread, move its file to ``archived_sessions/``, update the index."""
        await thread_files.archive(self, self._id(thread_id))

    async def unarchive_thread(self, thread_id: str) -> Thread:
        """Move an archived thread back under ``sessions/`` (mtime now) and return it."""
        return await thread_files.unarchive(self, self._id(thread_id))

    async def rollback_thread(self, thread_id: str, num_turns: int) -> Thread:
        """Drop the last ``num_turns`` turns (recorded as ``thread_rolled_back``)."""
        if num_turns < 1:
            raise InvalidRequestError("numTurns must be >= 1")
        actor = await self._actor(thread_id)
        assert actor is not None
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
    ) -> Turn:
        """Start a turn; returns at once with the turn ``inProgress``."""
        tid = self._id(thread_id)
        try:
            actor = await self._actor(tid)
        except ThreadNotFoundError:
            raise ThreadNotLoadedError(tid) from None
        assert actor is not None
        settings = self._settings(
            actor.settings,
            cwd=cwd,
            model=model,
            effort=effort,
            approval_policy=approval_policy,
            sandbox_policy=sandbox_policy,
            collaboration_mode=collaboration_mode,
        )
        return await actor.call(lambda: actor.start_turn(list(inputs), settings))

    async def compact_thread(self, thread_id: str) -> str:
        """Compact the model-visible history now (a turn of its own); returns its turn id."""
        actor = await self._actor(thread_id)
        assert actor is not None
        return await actor.call(lambda: compact(actor))

    async def interrupt_turn(self, thread_id: str, turn_id: str | None = None) -> None:
        """Interrupt the running turn; returns once it has ended ``interrupted``."""
        tid = self._id(thread_id)
        actor = self._actors.get(tid)
        if actor is None:
            raise ThreadNotLoadedError(tid)
        await actor.call(lambda: actor.interrupt(turn_id))

    async def wait_turn(self, thread_id: str) -> None:
        """Wait until the thread has no running turn."""
        actor = self._actors.get(self._id(thread_id))
        if actor is not None and actor.active is not None:
            await actor.active.done.wait()

    async def flush_index(self) -> None:
        """Write pending index rows now."""
        await self.syncer.flush()


T = TypeVar("T")


async def _async(value: T) -> T:
    return value
