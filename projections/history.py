"""The history fold: rollout items in, ``Thread > Turn > ThreadItem`` out (Codex section 4).

House rules (everything that changes turn state lives here):

* Only ``event_msg`` payloads and ``compacted`` items are looked at; response items, turn
  contexts and session metas are ignored, so what clients see comes from persisted events.
* Explicit turns open at ``task_started`` (or ``turn_started``) and close at
  ``task_complete``; legacy files without them get implicit turns, one per user message.
* Item ids: a thread-wide ``item-N`` counter for messages, reasoning, compactions and review
  markers; a tool item takes its event's ``call_id`` and is upserted by it.
* Tool events that carry a ``turn_id`` land in that turn even after it closed (a late exec
  exit); with no such turn they fall back to the open turn (mid-era rule).
* Explicit turns start ``inProgress`` (what the v2 ``turn/started`` shows); a turn still in
  progress when the thread is not running reads as ``interrupted`` (``snapshot``), and so
  does one closed without ``task_complete`` (by the next ``task_started`` or a rollback).

The fold is incremental: ``HistoryBuilder.feed`` takes one item at a time in O(1) and
returns what changed, which is how the live actor turns the very same fold into
notifications; ``snapshot`` gives the current view at any point. Pure: no I/O, no clock;
implicit-turn ids come from the injected ``new_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec

from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    AgentReasoningRawContent,
    ContextCompacted,
    EnteredReviewMode,
    Error,
    ExitedReviewMode,
    ItemCompleted,
    ItemStarted,
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    TurnAborted,
    UserMessage,
    plan_item_of,
)
from threadlog.events.rollout import Compacted, RolloutItem
from threadlog.events.thread_items import (
    AgentMessageItem,
    ContextCompactionItem,
    EnteredReviewModeItem,
    ExitedReviewModeItem,
    ImageInput,
    LocalImageInput,
    PlanItem,
    ReasoningItem,
    TextInput,
    ThreadItemKind,
    UserInput,
    UserMessageItem,
)
from threadlog.events.tool_events import (
    CollabAgentInteractionEnd,
    CollabAgentSpawnEnd,
    CollabCloseEnd,
    CollabResumeEnd,
    CollabWaitingEnd,
    DynamicToolCallRequest,
    DynamicToolCallResponse,
    ExecCommandEnd,
    ImageGenerationEnd,
    McpToolCallEnd,
    PatchApplyEnd,
    ViewImageToolCall,
    WebSearchEnd,
)
from threadlog.events.views import Turn, TurnError, TurnStatus
from threadlog.projections import item_mapping as im

# error kinds that never change a turn's status (Codex `affects_turn_status() == false`)
_NON_STATUS_ERRORS: Final = frozenset({"thread_rollback_failed", "active_turn_not_steerable"})


class ItemAdded(msgspec.Struct, frozen=True):
    """A new item appeared in a turn."""

    turn_id: str
    item: ThreadItemKind


class ItemUpdated(msgspec.Struct, frozen=True):
    """An existing item changed (reasoning merged, tool begin replaced by end)."""

    turn_id: str
    item: ThreadItemKind


class TurnOpened(msgspec.Struct, frozen=True):
    """A turn began (explicit turns ``inProgress``, implicit ones ``completed``)."""

    turn_id: str
    status: TurnStatus


class TurnChanged(msgspec.Struct, frozen=True):
    """A turn's status or error changed."""

    turn_id: str
    status: TurnStatus
    error: TurnError | None


class TurnsDropped(msgspec.Struct, frozen=True):
    """Turns were removed: rolled back, or an implicit turn closed empty."""

    dropped: list[str]


Change = ItemAdded | ItemUpdated | TurnOpened | TurnChanged | TurnsDropped


class _Turn:
    __slots__ = ("error", "explicit", "id", "index", "items", "saw_compaction", "status")

    def __init__(self, turn_id: str, *, explicit: bool, status: TurnStatus) -> None:
        self.id = turn_id
        self.explicit = explicit
        self.status: TurnStatus = status
        self.error: TurnError | None = None
        self.items: list[ThreadItemKind] = []
        self.index: dict[str, int] = {}
        self.saw_compaction = False

    def view(self, *, running: bool) -> Turn:
        status = self.status
        if status == "inProgress" and not running:
            status = "interrupted"
        return Turn(id=self.id, items=list(self.items), status=status, error=self.error)


def user_inputs(event: UserMessage) -> list[UserInput]:
    """The v2 content of a ``userMessage`` item."""
    content: list[UserInput] = []
    if event.message.strip():
        content.append(TextInput(text=event.message, text_elements=list(event.text_elements)))
    content += [ImageInput(url=url) for url in event.images or []]
    content += [LocalImageInput(path=path) for path in event.local_images]
    return content


class HistoryBuilder:
    """Feed rollout items one at a time; ask for the turns at any point."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self._turns: list[_Turn] = []
        self._by_id: dict[str, _Turn] = {}
        self._open: _Turn | None = None
        self._counter = 0
        self._changes: list[Change] = []

    # --- queries -----------------------------------------------------------------------

    @property
    def open_turn_id(self) -> str | None:
        """The id of the turn items currently land in, if any."""
        return self._open.id if self._open else None

    def snapshot(self, *, running: bool = False) -> list[Turn]:
        """The turns so far; unless ``running``, a turn in progress reads as interrupted."""
        return [t.view(running=running and t is self._open) for t in self._turns]

    def turn(self, turn_id: str, *, running: bool = False) -> Turn | None:
        """One turn's current view."""
        found = self._by_id.get(turn_id)
        return found.view(running=running and found is self._open) if found else None

    def next_item_id(self) -> str:
        """The counter id the next counted item will get (for live ``item/started``)."""
        return f"item-{self._counter + 1}"

    # --- feeding -----------------------------------------------------------------------

    def feed(self, item: RolloutItem) -> list[Change]:
        """Apply one rollout item; returns what changed."""
        handler = _handler_for(type(item))
        if handler is None:
            return []
        self._changes = []
        handler(self, item)
        return self._changes

    def feed_all(self, items: Iterable[RolloutItem]) -> None:
        """Apply many items."""
        for item in items:
            self.feed(item)

    # --- turn bookkeeping --------------------------------------------------------------

    def _start_turn(self, turn_id: str, *, explicit: bool) -> _Turn:
        self._finish_open()
        turn = _Turn(turn_id, explicit=explicit, status="inProgress" if explicit else "completed")
        self._turns.append(turn)
        self._by_id[turn_id] = turn
        self._open = turn
        self._changes.append(TurnOpened(turn_id, turn.status))
        return turn

    def _finish_open(self) -> None:
        turn = self._open
        self._open = None
        if turn is None:
            return
        if turn.status == "inProgress":
            # Closed without task_complete (a crash, then a new turn or a rollback): the
            # turn can no longer finish, so it reads as interrupted whether or not the
            # thread is running now. Not running, Codex shows the same.
            self._set_status(turn, "interrupted", turn.error)
        if not turn.explicit and not turn.items and not turn.saw_compaction:
            # The open turn is always the last one.
            self._turns.pop()
            del self._by_id[turn.id]
            self._changes.append(TurnsDropped([turn.id]))

    def _ensure_turn(self) -> _Turn:
        return self._open or self._start_turn(self._new_id(), explicit=False)

    def _set_status(self, turn: _Turn, status: TurnStatus, error: TurnError | None) -> None:
        if (turn.status, turn.error) != (status, error):
            turn.status, turn.error = status, error
            self._changes.append(TurnChanged(turn.id, status, error))

    def _mark_completed(self, turn: _Turn) -> None:
        if turn.status in ("completed", "inProgress"):
            self._set_status(turn, "completed", turn.error)

    def _count(self) -> str:
        self._counter += 1
        return f"item-{self._counter}"

    def _put(self, turn: _Turn, item: ThreadItemKind) -> None:
        """Append, or replace in place when an item with this id exists (upsert)."""
        position = turn.index.get(item.id)
        if position is None:
            turn.index[item.id] = len(turn.items)
            turn.items.append(item)
            self._changes.append(ItemAdded(turn.id, item))
        else:
            turn.items[position] = item
            self._changes.append(ItemUpdated(turn.id, item))

    def _routed(self, turn_id: str | None) -> _Turn:
        """The turn a tool event belongs to: its own turn if known, else the open turn."""
        if turn_id:
            found = self._by_id.get(turn_id)
            if found is not None:
                return found
        return self._ensure_turn()

    # --- event handlers ----------------------------------------------------------------

    def _on_task_started(self, event: TaskStarted) -> None:
        self._start_turn(event.turn_id, explicit=True)

    def _on_task_complete(self, event: TaskComplete) -> None:
        open_turn = self._open
        if open_turn is not None and open_turn.id == event.turn_id:
            self._mark_completed(open_turn)
            self._finish_open()
            return
        closed = self._by_id.get(event.turn_id)
        if closed is not None:
            self._mark_completed(closed)
            return
        if open_turn is not None:
            self._mark_completed(open_turn)
            self._finish_open()

    def _on_turn_aborted(self, event: TurnAborted) -> None:
        target = self._open
        if event.turn_id and (target is None or target.id != event.turn_id):
            target = self._by_id.get(event.turn_id, self._open)
        if target is not None:
            self._set_status(target, "interrupted", target.error)

    def _on_user_message(self, event: UserMessage) -> None:
        turn = self._open
        if turn is None or not turn.explicit:
            joins = turn is not None and not turn.items and turn.saw_compaction
            if not joins:
                turn = self._start_turn(self._new_id(), explicit=False)
        assert turn is not None
        self._put(turn, UserMessageItem(id=self._count(), content=user_inputs(event)))

    def _on_agent_message(self, event: AgentMessage) -> None:
        if not event.message:
            return
        turn = self._ensure_turn()
        self._put(turn, AgentMessageItem(id=self._count(), text=event.message, phase=event.phase))

    def _reasoning(self, text: str, *, raw: bool) -> None:
        turn = self._ensure_turn()
        last = turn.items[-1] if turn.items else None
        if isinstance(last, ReasoningItem):
            if raw:
                merged = ReasoningItem(
                    id=last.id, summary=last.summary, content=[*last.content, text]
                )
            else:
                merged = ReasoningItem(
                    id=last.id, summary=[*last.summary, text], content=last.content
                )
            self._put(turn, merged)
        elif raw:
            self._put(turn, ReasoningItem(id=self._count(), summary=[], content=[text]))
        else:
            self._put(turn, ReasoningItem(id=self._count(), summary=[text], content=[]))

    def _on_reasoning(self, event: AgentReasoning) -> None:
        self._reasoning(event.text, raw=False)

    def _on_reasoning_raw(self, event: AgentReasoningRawContent) -> None:
        self._reasoning(event.text, raw=True)

    def _on_item_completed(self, event: ItemStarted | ItemCompleted) -> None:
        plan = plan_item_of(event)
        if plan is None or not plan.text:
            return
        self._put(self._routed(event.turn_id), PlanItem(id=plan.id, text=plan.text))

    def _on_exec_end(self, event: ExecCommandEnd) -> None:
        self._put(self._routed(event.turn_id), im.command_execution(event))

    def _on_patch_end(self, event: PatchApplyEnd) -> None:
        self._put(self._routed(event.turn_id), im.file_change(event))

    def _on_dynamic_request(self, event: DynamicToolCallRequest) -> None:
        self._put(self._routed(event.turn_id), im.dynamic_tool_request(event))

    def _on_dynamic_response(self, event: DynamicToolCallResponse) -> None:
        self._put(self._routed(event.turn_id), im.dynamic_tool_response(event))

    def _on_open_turn_item(self, item: ThreadItemKind) -> None:
        self._put(self._ensure_turn(), item)

    def _on_context_compacted(self, _event: ContextCompacted) -> None:
        self._put(self._ensure_turn(), ContextCompactionItem(id=self._count()))

    def _on_entered_review(self, event: EnteredReviewMode) -> None:
        item = EnteredReviewModeItem(id=self._count(), review=im.entered_review_text(event))
        self._put(self._ensure_turn(), item)

    def _on_exited_review(self, event: ExitedReviewMode) -> None:
        item = ExitedReviewModeItem(id=self._count(), review=im.exited_review_text(event))
        self._put(self._ensure_turn(), item)

    def _on_error(self, event: Error) -> None:
        info = event.codex_error_info
        if (isinstance(info, str) and info in _NON_STATUS_ERRORS) or self._open is None:
            return
        error = TurnError(
            message=event.message, codex_error_info=im.error_info_to_v2(event.codex_error_info)
        )
        self._set_status(self._open, "failed", error)

    def _on_rolled_back(self, event: ThreadRolledBack) -> None:
        self._finish_open()
        keep = max(0, len(self._turns) - max(0, event.num_turns))
        dropped = self._turns[keep:]
        del self._turns[keep:]
        for turn in dropped:
            del self._by_id[turn.id]
        self._counter = sum(len(t.items) for t in self._turns)
        if dropped:
            self._changes.append(TurnsDropped([t.id for t in dropped]))

    def _on_compacted(self, _item: Compacted) -> None:
        self._ensure_turn().saw_compaction = True


def _tool(convert: Callable[[Any], ThreadItemKind]) -> Callable[[HistoryBuilder, Any], None]:
    def handle(builder: HistoryBuilder, event: Any) -> None:
        builder._on_open_turn_item(convert(event))

    return handle


_HANDLERS: dict[type, Callable[[HistoryBuilder, Any], None]] = {
    TaskStarted: HistoryBuilder._on_task_started,
    TaskComplete: HistoryBuilder._on_task_complete,
    TurnAborted: HistoryBuilder._on_turn_aborted,
    UserMessage: HistoryBuilder._on_user_message,
    AgentMessage: HistoryBuilder._on_agent_message,
    AgentReasoning: HistoryBuilder._on_reasoning,
    AgentReasoningRawContent: HistoryBuilder._on_reasoning_raw,
    ItemCompleted: HistoryBuilder._on_item_completed,
    ExecCommandEnd: HistoryBuilder._on_exec_end,
    PatchApplyEnd: HistoryBuilder._on_patch_end,
    DynamicToolCallRequest: HistoryBuilder._on_dynamic_request,
    DynamicToolCallResponse: HistoryBuilder._on_dynamic_response,
    McpToolCallEnd: _tool(im.mcp_tool_call),
    WebSearchEnd: _tool(im.web_search),
    ViewImageToolCall: _tool(im.image_view),
    ImageGenerationEnd: _tool(im.image_generation),
    CollabAgentSpawnEnd: _tool(im.collab_tool_call),
    CollabAgentInteractionEnd: _tool(im.collab_tool_call),
    CollabWaitingEnd: _tool(im.collab_tool_call),
    CollabCloseEnd: _tool(im.collab_tool_call),
    CollabResumeEnd: _tool(im.collab_tool_call),
    ContextCompacted: HistoryBuilder._on_context_compacted,
    EnteredReviewMode: HistoryBuilder._on_entered_review,
    ExitedReviewMode: HistoryBuilder._on_exited_review,
    Error: HistoryBuilder._on_error,
    ThreadRolledBack: HistoryBuilder._on_rolled_back,
    Compacted: HistoryBuilder._on_compacted,
}
"""Which handler each rollout item kind goes to (subclasses such as ``turn_started`` are
found by ``isinstance``); kinds not listed change nothing."""


_RESOLVED: dict[type, Callable[[HistoryBuilder, Any], None] | None] = {}


def _handler_for(kind: type) -> Callable[[HistoryBuilder, Any], None] | None:
    """The handler of a kind, its own or its nearest modelled base's (cached per type)."""
    if kind not in _RESOLVED:
        _RESOLVED[kind] = next(
            (handler for base in kind.__mro__ if (handler := _HANDLERS.get(base)) is not None),
            None,
        )
    return _RESOLVED[kind]


def build_turns(
    items: Iterable[RolloutItem], *, new_id: Callable[[], str], running: bool = False
) -> list[Turn]:
    """Fold a whole list of rollout items into turns."""
    builder = HistoryBuilder(new_id)
    builder.feed_all(items)
    return builder.snapshot(running=running)
