"""The thread actor: one trio task per loaded thread, the only writer of its log.

Requests arrive through a bounded mailbox (backpressure) and run one at a time; a turn runs
as its own task in its own cancel scope, so the mailbox keeps serving (an interrupt lands
while the driver works). Everything the thread does goes through ``emit``: the recorder
persists what the policy keeps, the very history fold a replay uses is fed the persisted
items, and the notifications hosts see are derived from what the fold reports. So the live
view of a thread is, by construction, the fold of its log.

An actor idle for longer than its passivation timeout is stopped by the runtime's sweeper:
it unregisters, answers what is queued, closes its file and ends; the next request for the
thread loads it again from the log. An idle actor is just a task parked on its mailbox (no
cancel scope, no nursery of its own), which keeps it small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
import trio

from threadlog.actors.drivers.protocol import DriverError, TurnRequest
from threadlog.actors.realtime.session import RealtimeSession
from threadlog.actors.runtime.active_turn import ActiveTurn
from threadlog.actors.runtime.host_calls import HostCalls
from threadlog.actors.runtime.live_turn import LiveTurn
from threadlog.actors.runtime.prompting import context_messages, prompt_context, turn_context
from threadlog.actors.runtime.quick_lock import QuickLock
from threadlog.actors.runtime.recorder import Recorder
from threadlog.actors.runtime.services import ActorServices
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events import notifications as notes
from threadlog.events.errors import (
    LogFullError,
    NoRunningTurnError,
    ThreadNotFoundError,
    ThreadOwnedElsewhereError,
    ThreadShuttingDownError,
    TurnAlreadyRunningError,
)
from threadlog.events.event_msgs import (
    ErrorEvent,
    TaskComplete,
    TaskStarted,
    ThreadNameUpdated,
    ThreadRolledBack,
    TokenUsage,
    TurnAborted,
    UserMessage,
)
from threadlog.events.ids import new_id
from threadlog.events.ops import ImageUserInput, LocalImageUserInput, TextUserInput, UserInputItem
from threadlog.events.response_items import (
    InputImage,
    InputText,
    Message,
    ResponseItem,
)
from threadlog.events.rollout import DynamicToolSpec, RolloutItem, SessionMeta
from threadlog.events.rows import IndexEntry
from threadlog.events.thread_items import ThreadItemKind
from threadlog.events.timefmt import timestamp_to_ms
from threadlog.events.views import Active, Idle, Thread, Turn, TurnError
from threadlog.projections.announcements import Announcer
from threadlog.projections.context import model_history
from threadlog.projections.history import HistoryBuilder
from threadlog.projections.item_mapping import error_info_to_v2
from threadlog.projections.metadata import MetadataExtractor
from threadlog.projections.prompt import PromptContext, first_model
from threadlog.projections.thread_view import thread_view
from threadlog.store.clock import wall_clock_ms
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import LogFencedError, LogWriteError, PositionConflictError

T = TypeVar("T")
log = get_logger("threadlog.actor")
MAILBOX_SIZE = 64


class _Request:
    __slots__ = ("error", "fn", "reply", "result")

    def __init__(self, fn: Callable[[], Awaitable[Any]]) -> None:
        self.fn = fn
        self.reply = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


def created_ms_of(meta: SessionMeta) -> int:
    """Creation time of a thread from its meta (now, when the meta's time is unreadable)."""
    try:
        return timestamp_to_ms(meta.timestamp)
    except ValueError:
        return wall_clock_ms()


def user_content(inputs: Sequence[UserInputItem]) -> tuple[str, list[str], list[str]]:
    """Text, image URLs and local image paths of a turn's input."""
    text = "\n".join(i.text for i in inputs if isinstance(i, TextUserInput))
    images = [i.image_url for i in inputs if isinstance(i, ImageUserInput)]
    local = [i.path for i in inputs if isinstance(i, LocalImageUserInput)]
    return text, images, local


class ThreadActor:
    """One loaded thread."""

    def __init__(
        self,
        services: ActorServices,
        recorder: Recorder,
        settings: ThreadSettings,
        *,
        items: Sequence[RolloutItem] = (),
        name: str | None = None,
        told: PromptContext | None = None,
        dynamic_tools: Sequence[DynamicToolSpec] | None = None,
    ) -> None:
        self._services = services
        self._thread_id = recorder.meta.id
        self.recorder = recorder
        self.settings = settings
        self.name = name
        # What the model was last told (None: nothing yet; the next turn sends it all).
        self.told = told
        # The model the conversation began under: a compaction tells the model of a switch.
        self.first_model: str | None = first_model(items)
        # The tools the host declared; callers pass the database's copy when they have it.
        self.dynamic_tools: list[DynamicToolSpec] = list(
            recorder.meta.dynamic_tools or [] if dynamic_tools is None else dynamic_tools
        )
        self.history = HistoryBuilder(new_id)
        self.metadata = MetadataExtractor(
            thread_id=self.thread_id,
            rollout_path=recorder.ref.location,
            created_at_ms=created_ms_of(recorder.meta),
        )
        self.metadata.feed(recorder.meta)
        self._usage = TokenUsage()
        for item in items:
            self.history.feed(item)
            self.metadata.feed(item)
        # The log may come from any writer (a crash, another tool): read it tolerantly,
        # then hold what this actor writes to the fold's rules.
        self.history.close_dangling_turn()
        self.history.strict = True
        self.model_history: list[ResponseItem] = model_history(items)
        self.updated_at_ms = wall_clock_ms()
        self.active: ActiveTurn | None = None
        self.realtime: RealtimeSession | None = None
        self.announcer = Announcer(self._thread_id)
        self._emit_lock = QuickLock()
        self._send, self._receive = trio.open_memory_channel[_Request](MAILBOX_SIZE)
        self.stopped = trio.Event()
        self._stopping = False
        self._busy = False
        self._last_activity = trio.current_time()

    @property
    def thread_id(self) -> str:
        """The thread's id (its first ``session_meta``'s)."""
        return self._thread_id

    @property
    def services(self) -> ActorServices:
        """The runtime's services."""
        return self._services

    # --- the mailbox -------------------------------------------------------------------

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` inside the actor, after the requests before it; re-raise its error."""
        request = _Request(fn)
        try:
            await self._send.send(request)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ThreadShuttingDownError(
                f"thread {self.thread_id} is shutting down; retry"
            ) from None
        await request.reply.wait()
        if request.error is not None:
            raise request.error
        result: T = request.result
        return result

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve requests until stopped; queued requests are answered before it ends."""
        task_status.started()
        try:
            async for request in self._receive:
                await self._handle(request)
            if self.active is not None:
                self.active.scope.cancel()
                await self.active.done.wait()
        finally:
            with trio.CancelScope(shield=True):
                await self._close_realtime()
                await self.recorder.close()
                self._index_dirty()
                self.stopped.set()

    async def _handle(self, request: _Request) -> None:
        self._busy = True
        try:
            request.result = await request.fn()
        except Exception as exc:
            request.error = exc
        finally:
            self._busy = False
            self._last_activity = trio.current_time()
            request.reply.set()

    def stop(self) -> None:
        """Unregister and finish after the requests already queued (idempotent)."""
        if not self._stopping:
            self._stopping = True
            self._services.forget(self.thread_id, self)
            self._send.close()

    def _realtime_active(self) -> bool:
        return self.realtime is not None and self.realtime.active

    @property
    def idle_since(self) -> float | None:
        """When the actor last did anything, if it is idle now (trio clock)."""
        if self.active is not None or self._busy:
            return None
        if self.realtime is not None and self.realtime.active:
            return None  # a live voice session keeps its thread loaded
        return self._last_activity

    # --- recording and notifying -------------------------------------------------------

    def publish(self, *notifications: notes.Notification) -> None:
        """Send notifications to the host's subscribers, in order."""
        for notification in notifications:
            self._services.publish(notification)

    def add_usage(self, last: TokenUsage) -> TokenUsage:
        """Accumulate a request's usage into the thread's totals."""
        u = self._usage
        self._usage = TokenUsage(
            input_tokens=u.input_tokens + last.input_tokens,
            cached_input_tokens=u.cached_input_tokens + last.cached_input_tokens,
            output_tokens=u.output_tokens + last.output_tokens,
            reasoning_output_tokens=u.reasoning_output_tokens + last.reasoning_output_tokens,
            total_tokens=u.total_tokens + last.total_tokens,
        )
        return self._usage

    def announce_started(self, turn_id: str, item: ThreadItemKind) -> notes.Notification:
        """``item/started`` for an item ahead of the fold, stamped now."""
        return self.announcer.started(turn_id, item, wall_clock_ms())

    def announce_finished(self, turn_id: str, item: ThreadItemKind) -> list[notes.Notification]:
        """Complete an item the log does not keep (limited mode), stamped now."""
        return self.announcer.finished(turn_id, item, wall_clock_ms())

    async def emit(
        self, items: Sequence[RolloutItem], *, transient: Sequence[notes.Notification] = ()
    ) -> list[RolloutItem]:
        """Record items (through the policy), fold them, and notify; returns what was kept."""
        async with self._emit_lock:
            try:
                kept = await self.recorder.record(items)
            except PositionConflictError as exc:
                # Another host appended since this one loaded the thread: its lease was
                # taken over. This actor is fenced out for good; it stops, so the next
                # request claims the thread again and learns who owns it.
                self.stop()
                raise LogFencedError(
                    f"thread {self.thread_id} was taken over by another host ({exc}); "
                    "send its requests to its owner"
                ) from exc
            now = wall_clock_ms()
            out: list[notes.Notification] = []
            for item in kept:
                out += self.announcer.of_changes(self.history.feed(item), self._running_turn, now)
                self.metadata.feed(item)
                if isinstance(item, ResponseItem):
                    self.model_history.append(item)
            self.updated_at_ms = now
            if kept:
                self._index_dirty()
            self.publish(*transient, *out)
            return kept

    def _running_turn(self, turn_id: str) -> Turn | None:
        return self.history.turn(turn_id, running=True)

    def _index_dirty(self) -> None:
        if self.recorder.materialized:
            self._services.index_dirty(self.index_entry())

    async def _close_realtime(self) -> None:
        """A thread leaving memory closes its realtime session as if asked to."""
        session, self.realtime = self.realtime, None
        if session is not None:
            await session.stop(announce=True)

    # --- views -------------------------------------------------------------------------

    def index_entry(self) -> IndexEntry:
        """The index row as the live fold has it."""
        return self.metadata.entry(
            updated_at_ms=self.updated_at_ms,
            archived=False,
            log_position=self.recorder.position,
        )

    async def read_view(self, *, include_turns: bool) -> Thread:
        """``view`` taken inside the actor, after the requests queued before it."""
        return await self.call(lambda: _value(self.view(include_turns=include_turns)))

    def view(self, *, include_turns: bool) -> Thread:
        """The live ``Thread`` (turns from the live fold when asked)."""
        status = Active() if self.active is not None else Idle()
        turns = self.history.snapshot(running=self.active is not None) if include_turns else None
        return thread_view(self.index_entry().row, name=self.name, turns=turns, status=status)

    # --- requests (run inside the actor) -----------------------------------------------

    async def start_turn(
        self,
        inputs: Sequence[UserInputItem],
        settings: ThreadSettings,
        host: HostCalls | None = None,
    ) -> Turn:
        """Record the start of a turn and launch the driver; returns the turn in progress."""
        if self.active is not None:
            raise TurnAlreadyRunningError(
                f"a turn is already running on thread {self.thread_id} ({self.active.turn_id})"
            )
        self.settings = settings
        await self.recorder.persist()
        turn_id = new_id()
        text, images, local_images = user_content(inputs)
        now = await prompt_context(self._services.home, settings, self._realtime_active())
        items: list[RolloutItem] = list(context_messages(self.told, now, self.first_model))
        content: list[Any] = [InputText(text)] if text else []
        content += [InputImage(image_url=url) for url in images]
        items += [
            TaskStarted(turn_id=turn_id, collaboration_mode_kind=settings.collaboration_mode),
            Message(role="user", content=content),
            UserMessage(message=text, images=images, local_images=local_images),
            turn_context(now, settings, turn_id),
        ]
        active = ActiveTurn(turn_id, host or self._services.host, settings.collaboration_mode)
        self.active = active
        self._last_activity = trio.current_time()
        self.publish(notes.thread_status_changed(self.thread_id, Active()))
        try:
            await self.emit(items)
        except LogWriteError as exc:
            # Nothing of the turn was kept (the log is cut back to its last line): there is
            # no turn, and the thread takes the next one once the cause is gone.
            self.active = None
            active.done.set()
            self.publish(notes.thread_status_changed(self.thread_id, Idle()))
            if isinstance(exc, LogFencedError):  # the request's to make elsewhere
                raise ThreadOwnedElsewhereError(str(exc), "") from exc
            raise LogFullError(f"the turn was not started: {exc}") from exc
        self.told = now
        self.first_model = self.first_model or now.model
        request = TurnRequest(
            thread_id=self.thread_id,
            turn_id=turn_id,
            input=list(inputs),
            cwd=settings.cwd,
            model=settings.model,
            effort=settings.effort,
            collaboration_mode=settings.collaboration_mode,
            history=list(self.model_history),
            dynamic_tools=list(self.dynamic_tools),
        )
        self._services.spawn(self._run_turn, active, request)
        return Turn(id=turn_id, items=[], status="inProgress")

    async def _run_turn(self, active: ActiveTurn, request: TurnRequest) -> None:
        handle = LiveTurn(self, active)
        failure: TurnError | None = None
        raw_info: Any = None
        with active.scope:
            try:
                await self._services.driver.run_turn(request, handle)
            except DriverError as exc:
                failure = TurnError(exc.message, error_info_to_v2(exc.codex_error_info))
                raw_info = exc.codex_error_info
            except LogWriteError as exc:
                log.error("turn_log_write_failed", thread_id=self.thread_id, error=str(exc))
                failure = TurnError(f"the thread's log could not be written: {exc}", "other")
                raw_info = "other"
            except Exception as exc:
                log.exception("driver_failed", thread_id=self.thread_id, turn_id=active.turn_id)
                failure = TurnError(f"driver failed: {exc}", "other")
                raw_info = "other"
        with trio.CancelScope(shield=True):
            try:
                await self._end_turn(active, handle, failure, raw_info)
            except LogWriteError as exc:
                # The disk is still full (or the file at its size limit): the turn ends
                # failed for its watchers, its end is not in the log (a reader sees it
                # interrupted), and the live fold closes it so the next turn can start.
                log.error("turn_end_not_recorded", thread_id=self.thread_id, error=str(exc))
                failure = TurnError(f"the thread's log could not be written: {exc}", "other")
                self.history.feed(
                    TaskComplete(
                        turn_id=active.turn_id,
                        error={"message": failure.message, "codex_error_info": "other"},
                    )
                )
            finally:
                turn = self.history.turn(active.turn_id) or Turn(
                    id=active.turn_id, items=[], status="interrupted"
                )
                if failure is not None and turn.status in ("completed", "inProgress"):
                    # Limited mode does not persist errors (Codex's policy), so the log
                    # will read "completed"; the live outcome is still a failure.
                    turn = msgspec.structs.replace(turn, status="failed", error=failure)
                self.active = None
                self._last_activity = trio.current_time()
                active.done.set()
                self.publish(
                    notes.turn_completed(self.thread_id, turn),
                    notes.thread_status_changed(self.thread_id, Idle()),
                )

    async def _end_turn(
        self, active: ActiveTurn, handle: LiveTurn, failure: TurnError | None, raw_info: Any
    ) -> None:
        """Record how the turn ended: interrupted, failed or complete."""
        await handle.finish_message()
        if active.scope.cancelled_caught:
            await self.emit([TurnAborted(reason="interrupted", turn_id=active.turn_id)])
        elif failure is not None:
            active.failure = failure
            await self.emit(
                [ErrorEvent(message=failure.message, codex_error_info=raw_info)],
                transient=[notes.error(self.thread_id, active.turn_id, failure)],
            )
            await self.emit([TaskComplete(turn_id=active.turn_id)])
        else:
            await self.emit(
                [TaskComplete(turn_id=active.turn_id, last_agent_message=handle.last_agent_message)]
            )

    async def interrupt(self, turn_id: str | None) -> None:
        """Cancel the running turn (it ends ``interrupted``) and wait until it has ended."""
        active = self.active
        if active is None:
            raise NoRunningTurnError(f"no turn is running on thread {self.thread_id}")
        if turn_id is not None and turn_id != active.turn_id:
            raise NoRunningTurnError(f"turn {turn_id} is not the running turn ({active.turn_id})")
        active.scope.cancel()
        await active.done.wait()

    async def rename(self, name: str) -> None:
        """Record a new name (materializing a fresh thread first)."""
        await self.recorder.persist()
        await self.emit([ThreadNameUpdated(thread_id=self.thread_id, thread_name=name)])
        self.name = name

    async def rollback(self, num_turns: int) -> Thread:
        """Drop the last ``num_turns`` turns."""
        if self.active is not None:
            raise TurnAlreadyRunningError(
                f"cannot roll back thread {self.thread_id} while a turn runs"
            )
        if not self.recorder.materialized:
            raise ThreadNotFoundError(self.thread_id)
        await self.emit([ThreadRolledBack(num_turns=num_turns)])
        self.model_history = model_history([*self.model_history, ThreadRolledBack(num_turns)])
        self.told = None  # the dropped turns may have carried updates: tell it all again
        return self.view(include_turns=True)


async def _value(value: T) -> T:
    return value
