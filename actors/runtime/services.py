"""The narrow interfaces inside the runtime, so no module needs the one above it.

``ActorServices`` is what a thread actor needs of the runtime that owns it (the registry
implements it); ``ThreadOwner`` is what a running turn, a compaction or a realtime session
needs of its thread's actor (the actor implements it). Both are structural: the actor
never imports the registry and the turn code never imports the actor, so the runtime has no
import cycle and each side can be tested against a stand-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from threadlog.actors.drivers.protocol import Driver
from threadlog.actors.realtime.session import RealtimeSession
from threadlog.actors.runtime.active_turn import ActiveTurn
from threadlog.actors.runtime.host_calls import HostCalls
from threadlog.actors.runtime.recorder import Recorder
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.actors.shell.executor import CommandExecutor
from threadlog.events.event_msgs import TokenUsage
from threadlog.events.notifications import Notification
from threadlog.events.response_items import ResponseItem
from threadlog.events.rollout import RolloutItem
from threadlog.events.rows import IndexEntry
from threadlog.events.thread_items import ThreadItemKind
from threadlog.projections.announcements import Announcer
from threadlog.projections.history import HistoryBuilder
from threadlog.projections.prompt import PromptContext


class ActorServices(Protocol):
    """What a thread actor needs of the runtime that owns it."""

    @property
    def home(self) -> Path:
        """The Codex home the thread lives in."""
        ...

    @property
    def driver(self) -> Driver:
        """What produces a turn's output."""
        ...

    @property
    def executor(self) -> CommandExecutor:
        """Runs the commands a driver asks for."""
        ...

    @property
    def host(self) -> HostCalls:
        """Who to ask for tools and approvals when a turn's starter gave nobody."""
        ...

    @property
    def dynamic_tool_timeout(self) -> float:
        """Seconds a dynamic tool call may wait for the host."""
        ...

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a task in the runtime's nursery (turns outlive the request that began them)."""

    def publish(self, notification: Notification) -> None:
        """Deliver a notification to the host's subscribers."""

    def index_dirty(self, entry: IndexEntry) -> None:
        """The thread wrote: its index row should follow."""

    def forget(self, thread_id: str, actor: object) -> None:
        """The actor is stopping: the next request for the thread loads it again."""


class ThreadOwner(Protocol):
    """What a running turn, a compaction or a realtime session needs of its thread."""

    settings: ThreadSettings
    history: HistoryBuilder
    recorder: Recorder
    active: ActiveTurn | None
    realtime: RealtimeSession | None
    model_history: list[ResponseItem]
    first_model: str | None
    told: PromptContext | None
    announcer: Announcer

    @property
    def thread_id(self) -> str:
        """The thread's id."""
        ...

    @property
    def services(self) -> ActorServices:
        """The runtime's services."""
        ...

    async def emit(
        self, items: Sequence[RolloutItem], *, transient: Sequence[Notification] = ()
    ) -> list[RolloutItem]:
        """Record items through the policy, fold them and notify; returns what was kept."""
        ...

    def publish(self, *notifications: Notification) -> None:
        """Send notifications to the host's subscribers, in order."""

    def add_usage(self, last: TokenUsage) -> TokenUsage:
        """Accumulate a request's usage into the thread's totals."""
        ...

    def announce_started(self, turn_id: str, item: ThreadItemKind) -> Notification:
        """``item/started`` for an item ahead of the fold, stamped now."""
        ...

    def announce_finished(self, turn_id: str, item: ThreadItemKind) -> list[Notification]:
        """Complete an item the log does not keep (limited mode), stamped now."""
        ...
