"""The registry of loaded threads: who is loaded, loading from the log, and the services
every actor uses.

One actor per loaded thread, never two: loads of one id are serialised on a per-id lock,
and an actor that is stopping is waited for before its thread loads again. The registry is
the ``ActorServices`` its actors see (spawn, publish, index sync, forget) and holds what
the host configured (driver, executor, host calls, durability, defaults). It knows nothing
of the host API: ``host_api.Runtime`` builds on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import msgspec
import trio

from threadlog.actors.drivers.protocol import Driver
from threadlog.actors.runtime.actor import ThreadActor
from threadlog.actors.runtime.append_batcher import AppendBatcher
from threadlog.actors.runtime.host_calls import HostCalls
from threadlog.actors.runtime.index_sync import IndexSyncer
from threadlog.actors.runtime.loader import load_thread
from threadlog.actors.runtime.ownership import Ownership
from threadlog.actors.runtime.recorder import Recorder
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.actors.runtime.subscribers import SUBSCRIBER_BUFFER, Subscribers
from threadlog.actors.shell.environment import current_environment
from threadlog.actors.shell.executor import CommandExecutor
from threadlog.events import __version__
from threadlog.events import notifications as notes
from threadlog.events.errors import InvalidThreadIdError, ThreadLockedError
from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import DynamicToolSpec, SessionMeta
from threadlog.events.rows import IndexEntry
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.projections.policy import PersistenceMode
from threadlog.store.clock import wall_clock_ms
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import Durability, IndexStore, LogStore, WriterLockedError

log = get_logger("threadlog.runtime")


class ThreadRegistry:
    """The loaded actors of one runtime, and the services they share."""

    def __init__(
        self,
        home: Path,
        *,
        driver: Driver,
        executor: CommandExecutor,
        host: HostCalls,
        dynamic_tool_timeout: float,
        durability: Durability,
        persistence: PersistenceMode,
        source: Any,
        defaults: ThreadSettings,
        index_interval: float,
        logs: LogStore,
    ) -> None:
        self._home = home
        self.logs = logs
        self._driver = driver
        self._executor = executor
        self._host = host
        self._dynamic_tool_timeout = dynamic_tool_timeout
        self.durability: Durability = durability
        self.persistence: PersistenceMode = persistence
        self.source = source
        self.defaults = defaults
        self.index: IndexStore | None = None
        self.syncer = IndexSyncer(logs, None, index_interval)
        self.appends = AppendBatcher()
        self.ownership: Ownership | None = None  # hosts sharing a log and an index
        self._held: set[str] = set()  # threads a change holds the lease of (``owned``)
        self.subscribers = Subscribers()
        self.nursery: trio.Nursery | None = None
        self._actors: dict[str, ThreadActor] = {}
        self._stopping: dict[str, ThreadActor] = {}
        self._modes: dict[str, PersistenceMode] = {}
        self._load_locks: dict[str, trio.Lock] = {}

    # --- ActorServices -----------------------------------------------------------------

    @property
    def home(self) -> Path:
        """The Codex home."""
        return self._home

    @property
    def driver(self) -> Driver:
        """What produces turns."""
        return self._driver

    @property
    def executor(self) -> CommandExecutor:
        """What runs commands."""
        return self._executor

    @property
    def host(self) -> HostCalls:
        """The host asked when a turn's starter gave none."""
        return self._host

    @property
    def dynamic_tool_timeout(self) -> float:
        """Seconds a dynamic tool call waits for the host."""
        return self._dynamic_tool_timeout

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a task in the runtime's nursery (turns live here, not in their actor)."""
        assert self.nursery is not None
        self.nursery.start_soon(fn, *args)

    def publish(self, notification: notes.Notification) -> None:
        """Deliver to every matching subscriber (see ``Subscribers``)."""
        self.subscribers.publish(notification)

    def index_dirty(self, entry: IndexEntry) -> None:
        """A thread wrote: queue its row for the index."""
        self.syncer.mark(entry)

    def forget(self, thread_id: str, actor: object) -> None:
        """Called by an actor as it stops; a later request loads the thread again."""
        current = self._actors.get(thread_id)
        if current is not None and current is actor:
            del self._actors[thread_id]
            self._stopping[thread_id] = current

    # --- who is loaded -----------------------------------------------------------------

    def checked_id(self, thread_id: object) -> str:
        """A thread id from outside, validated (``InvalidThreadIdError`` when it is not one)."""
        try:
            return parse_thread_id(thread_id)
        except ValueError:
            raise InvalidThreadIdError(thread_id) from None

    def loaded(self, thread_id: str) -> ThreadActor | None:
        """A thread's actor if it is loaded now."""
        return self._actors.get(thread_id)

    def loaded_actors(self) -> list[ThreadActor]:
        """Every loaded actor, and those still stopping."""
        return list(self._actors.values()) + list(self._stopping.values())

    def loaded_thread_ids(self) -> list[str]:
        """Ids of the threads loaded right now, sorted."""
        return sorted(self._actors)

    def mode_of(self, thread_id: str) -> PersistenceMode:
        """The persistence mode a thread last ran with here (the default otherwise)."""
        return self._modes.get(thread_id, self.persistence)

    def thread_settings(self, thread_id: str) -> ThreadSettings:
        """The settings a loaded thread runs with (the defaults for others)."""
        actor = self._actors.get(thread_id)
        return actor.settings if actor is not None else self.defaults

    def subscribe(
        self, thread_id: str | None = None, *, buffer: int = SUBSCRIBER_BUFFER
    ) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[notes.Notification]]:
        """Notifications about one thread (or all); closed when the block ends."""
        tid = self.checked_id(thread_id) if thread_id else None
        return self.subscribers.subscribe(tid, buffer)

    @contextlib.asynccontextmanager
    async def owned(self, thread_id: str) -> AsyncIterator[None]:
        """Own the thread for a change made to it without loading it (a rename, an
        archive, a delete), among many hosts: refused, naming the owner, while another
        host holds it; given back after, unless an actor of it is loaded here by then.
        An actor unloaded inside the block leaves the lease to the block."""
        ownership = self.ownership
        if ownership is None:
            yield
            return
        await ownership.claim(thread_id)
        self._held.add(thread_id)
        try:
            yield
        finally:
            self._held.discard(thread_id)
            if thread_id not in self._actors:
                with trio.CancelScope(shield=True):
                    await ownership.release(thread_id)

    # --- loading -----------------------------------------------------------------------

    async def spawn_actor(self, actor: ThreadActor, mode: PersistenceMode) -> ThreadActor:
        """Register and start a new actor (owning its thread first, among many hosts)."""
        assert self.nursery is not None
        if self.ownership is not None:
            await self.ownership.claim(actor.thread_id)
        self._actors[actor.thread_id] = actor
        self._modes[actor.thread_id] = mode
        await self.nursery.start(self._run_actor, actor)
        return actor

    async def _run_actor(
        self, actor: ThreadActor, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            await actor.run(task_status=task_status)
        finally:
            actor.stop()
            if self.ownership is not None and actor.thread_id not in self._held:
                with trio.CancelScope(shield=True):
                    await self.ownership.release(actor.thread_id)
            if self._stopping.get(actor.thread_id) is actor:
                del self._stopping[actor.thread_id]

    async def actor(
        self, thread_id: str, *, load: bool = True, mode: PersistenceMode | None = None
    ) -> ThreadActor | None:
        """The loaded actor of a thread, loading it from its log when asked."""
        tid = self.checked_id(thread_id)
        lock = self._load_locks.setdefault(tid, trio.Lock())
        async with lock:
            actor = self._actors.get(tid)
            if actor is not None or not load:
                return actor
            leaving = self._stopping.get(tid)
            if leaving is not None:
                await leaving.stopped.wait()
            if self.ownership is not None:  # before the log is touched: the owner writes it
                await self.ownership.claim(tid)
            shell = current_environment(self.defaults.cwd).shell
            loaded = await trio.to_thread.run_sync(
                load_thread, self.logs, tid, self.defaults, shell
            )
            chosen: PersistenceMode = mode or self.mode_of(tid)
            try:
                recorder = await Recorder.reopen(
                    self.logs,
                    loaded.ref,
                    loaded.meta,
                    mode=chosen,
                    durability=self.durability,
                    appends=self.appends,
                )
            except WriterLockedError as exc:
                raise ThreadLockedError(f"cannot open thread {tid} for writing: {exc}") from None
            actor = ThreadActor(
                self,
                recorder,
                loaded.settings,
                items=loaded.items,
                name=loaded.name,
                told=loaded.told,
                dynamic_tools=await self._stored_dynamic_tools(tid),
            )
            return await self.spawn_actor(actor, chosen)

    async def loaded_actor(self, thread_id: str) -> ThreadActor:
        """A thread's actor, loading it from its log if needed."""
        actor = await self.actor(thread_id)
        assert actor is not None
        return actor

    async def _stored_dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools from the database (None: ask the log instead)."""
        index = self.index
        if index is None:
            return None
        try:
            return await trio.to_thread.run_sync(index.dynamic_tools, thread_id)
        except Exception as exc:  # a broken index must not stop a thread from loading
            log.warning("dynamic_tools_from_db_failed", thread_id=thread_id, error=str(exc))
            return None

    async def unload(self, thread_id: str) -> None:
        """Passivate a loaded thread now (its running turn ends interrupted)."""
        actor = self._actors.get(self.checked_id(thread_id))
        if actor is not None:
            actor.stop()
            await actor.stopped.wait()
        await self.syncer.flush()

    # --- new threads -------------------------------------------------------------------

    def settings(self, base: ThreadSettings, **overrides: Any) -> ThreadSettings:
        """``base`` with the overrides that are not None."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return msgspec.structs.replace(base, **changes) if changes else base

    def new_meta(self, thread_id: str, settings: ThreadSettings, **extra: Any) -> SessionMeta:
        """The ``session_meta`` of a thread this runtime creates."""
        return SessionMeta(
            id=thread_id,
            timestamp=format_timestamp_ms(wall_clock_ms()),
            cwd=settings.cwd,
            originator="threadlog",
            cli_version=__version__,
            source=self.source,
            model_provider=settings.model_provider,
            **extra,
        )
