"""The history fold: rollout items in, ``Thread > Turn > ThreadItem`` out (Codex section 4).

House rules (everything that changes turn state lives here, driven by two tables):

* Which events matter and how is ``projections.event_kinds.EVENT_KINDS``: each row names
  the fold transition an event drives (``fold``) and, for tool and review events, the item
  it becomes and the turn it is routed to. Response items, turn contexts and session metas
  are ignored, so what clients see comes from persisted events; of the other line kinds
  only ``compacted`` is looked at.
* How a turn's status moves is ``projections.turns.TURN_TRANSITIONS``.
* Explicit turns open at ``task_started`` (or ``turn_started``) and close at
  ``task_complete``; legacy files without them get implicit turns, one per user message.
* Item ids: a thread-wide ``item-N`` counter for messages, reasoning, compactions and review
  markers; a tool item takes its event's ``call_id`` and is upserted by it.
* Tool events routed ``own`` land in the turn their ``turn_id`` names even after it closed
  (a late exec exit); with no such turn they fall back to the open turn (mid-era rule).
* Explicit turns start ``inProgress`` (what the v2 ``turn/started`` shows); a turn still in
  progress when the thread is not running reads as ``interrupted`` (``snapshot``), and so
  does one closed without ``task_complete`` (by the next ``task_started`` or a rollback).

The fold is tolerant by default, as a reader of other writers' logs must be (a crash leaves
a turn open; old files have no turns). ``strict=True`` (the live actor, the tests) raises
``HistoryError`` naming the state and the event on a sequence our own writer never makes.

The fold is incremental: ``HistoryBuilder.feed`` takes one item at a time in O(1) and
returns what changed, which is how the live actor turns the very same fold into
notifications; ``snapshot`` gives the current view at any point. Pure: no I/O, no clock;
implicit-turn ids come from the injected ``new_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, get_args

from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    AgentReasoningRawContent,
    EnteredReviewMode,
    ErrorEvent,
    ExitedReviewMode,
    ItemCompleted,
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
from threadlog.events.views import Turn, TurnError
from threadlog.projections import item_mapping as im
from threadlog.projections.event_kinds import EventKind, Fold, kind_of
from threadlog.projections.turn_items import thread_item_of
from threadlog.projections.turns import (
    TURN_TRANSITIONS,
    Change,
    HistoryError,
    ItemAdded,
    ItemUpdated,
    Signal,
    TurnChanged,
    TurnOpened,
    TurnsDropped,
    TurnState,
    TurnTimed,
)

__all__ = [
    "Change",
    "HistoryBuilder",
    "HistoryError",
    "ItemAdded",
    "ItemUpdated",
    "TurnChanged",
    "TurnOpened",
    "TurnTimed",
    "TurnsDropped",
    "build_turns",
    "user_inputs",
]

# error kinds that never change a turn's status (Codex `affects_turn_status() == false`)
_NON_STATUS_ERRORS: Final = frozenset({"thread_rollback_failed", "active_turn_not_steerable"})


def _task_error(error: Any) -> TurnError | None:
    """The ``TurnError`` of a 0.169+ ``task_complete.error`` (None when it has none)."""
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    return TurnError(
        message=error["message"],
        codex_error_info=im.error_info_to_v2(error.get("codex_error_info")),
    )


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

    def __init__(self, new_id: Callable[[], str], *, strict: bool = False) -> None:
        self._new_id = new_id
        self.strict = strict
        self._turns: list[TurnState] = []
        self._by_id: dict[str, TurnState] = {}
        self._open: TurnState | None = None
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
        self._changes = []
        if isinstance(item, Compacted):
            self._ensure_turn(item).saw_compaction = True
            return self._changes
        row = kind_of(type(item))
        if row is None or row.fold is None:
            return self._changes
        _FOLDS[row.fold](self, item, row)
        return self._changes

    def close_dangling_turn(self) -> None:
        """Close a turn its writer left running (a crash, a host killed mid-turn): it can
        no longer finish, so it reads as interrupted and the next turn may start, as when
        Codex resumes such a thread. Nothing is written; the log reads the same way."""
        if self._open is not None and self._open.explicit and self._open.status == "inProgress":
            self._finish_open()
            self._changes = []

    def feed_all(self, items: Iterable[RolloutItem]) -> None:
        """Apply many items."""
        for item in items:
            self.feed(item)

    # --- turn bookkeeping --------------------------------------------------------------

    def _impossible(self, event: object) -> None:
        if self.strict:
            state = f"turn {self._open.id} {self._open.status}" if self._open else "no open turn"
            raise HistoryError(state, type(event).__name__)

    def _start_turn(self, turn_id: str, *, explicit: bool) -> TurnState:
        self._finish_open()
        turn = TurnState(
            turn_id, explicit=explicit, status="inProgress" if explicit else "completed"
        )
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
        # Closed without task_complete (a crash, then a new turn or a rollback): the turn
        # can no longer finish, so it reads as interrupted, running or not, as in Codex.
        self._signal(turn, "close")
        if not turn.explicit and not turn.items and not turn.saw_compaction:
            # The open turn is always the last one.
            self._turns.pop()
            del self._by_id[turn.id]
            self._changes.append(TurnsDropped([turn.id]))

    def _ensure_turn(self, event: object) -> TurnState:
        if self._open is None:
            self._impossible(event)
            return self._start_turn(self._new_id(), explicit=False)
        return self._open

    def _signal(self, turn: TurnState, signal: Signal, error: TurnError | None = None) -> None:
        status = TURN_TRANSITIONS[(turn.status, signal)]
        error = error if error is not None else turn.error
        if (turn.status, turn.error) != (status, error):
            turn.status, turn.error = status, error
            self._changes.append(TurnChanged(turn.id, status, error))

    def _count(self) -> str:
        self._counter += 1
        return f"item-{self._counter}"

    def _put(self, turn: TurnState, item: ThreadItemKind) -> None:
        """Append, or replace in place when an item with this id exists (upsert)."""
        position = turn.index.get(item.id)
        if position is None:
            turn.index[item.id] = len(turn.items)
            turn.items.append(item)
            self._changes.append(ItemAdded(turn.id, item))
        else:
            turn.items[position] = item
            self._changes.append(ItemUpdated(turn.id, item))

    def _routed(self, turn_id: str | None, event: object) -> TurnState:
        """The turn a tool event belongs to: its own turn if known, else the open turn."""
        if turn_id:
            found = self._by_id.get(turn_id)
            if found is not None:
                return found
        return self._ensure_turn(event)

    # --- transitions (one per ``fold`` name of the event table) ------------------------

    def _on_task_started(self, event: TaskStarted, _row: EventKind) -> None:
        if self._open is not None and self._open.status == "inProgress":
            self._impossible(event)
        turn = self._start_turn(event.turn_id, explicit=True)
        self._timed(turn, event.root_turn_id, event.started_at, None, None)

    def _on_task_complete(self, event: TaskComplete, _row: EventKind) -> None:
        open_turn = self._open
        closed = self._by_id.get(event.turn_id)
        if open_turn is not None and (open_turn.id == event.turn_id or closed is None):
            target: TurnState | None = open_turn
        else:
            target = closed
        if target is None:
            self._impossible(event)
            return
        self._complete_timing(target, event)
        error = _task_error(event.error)
        if error is not None:
            self._signal(target, "error", error)
        self._signal(target, "complete")
        if target is open_turn:
            self._finish_open()

    def _complete_timing(self, turn: TurnState, event: TaskComplete) -> None:
        root = event.root_turn_id or turn.root_turn_id
        started = turn.started_at if turn.started_at is not None else event.started_at
        self._timed(turn, root, started, event.completed_at, event.duration_ms)

    def _timed(
        self,
        turn: TurnState,
        root_turn_id: str | None,
        started_at: int | None,
        completed_at: int | None,
        duration_ms: int | None,
    ) -> None:
        change = turn.set_timing(root_turn_id, started_at, completed_at, duration_ms)
        if change is not None:
            self._changes.append(change)

    def _on_turn_aborted(self, event: TurnAborted, _row: EventKind) -> None:
        target = self._open
        if event.turn_id and (target is None or target.id != event.turn_id):
            target = self._by_id.get(event.turn_id, self._open)
        if target is None:
            self._impossible(event)
            return
        self._signal(target, "abort")

    def _on_user_message(self, event: UserMessage, _row: EventKind) -> None:
        turn = self._open
        if turn is None or not turn.explicit:
            self._impossible(event)
            joins = turn is not None and not turn.items and turn.saw_compaction
            if not joins:
                turn = self._start_turn(self._new_id(), explicit=False)
        assert turn is not None
        self._put(turn, UserMessageItem(id=self._count(), content=user_inputs(event)))

    def _on_agent_message(self, event: AgentMessage, _row: EventKind) -> None:
        if not event.message:
            return
        turn = self._ensure_turn(event)
        self._put(turn, AgentMessageItem(id=self._count(), text=event.message, phase=event.phase))

    def _reasoning(self, event: object, text: str, *, raw: bool) -> None:
        turn = self._ensure_turn(event)
        last = turn.items[-1] if turn.items else None
        if isinstance(last, ReasoningItem):
            summary, content = list(last.summary), list(last.content)
            item_id = last.id
        else:
            summary, content, item_id = [], [], self._count()
        (content if raw else summary).append(text)
        self._put(turn, ReasoningItem(id=item_id, summary=summary, content=content))

    def _on_reasoning(self, event: AgentReasoning, _row: EventKind) -> None:
        self._reasoning(event, event.text, raw=False)

    def _on_reasoning_raw(self, event: AgentReasoningRawContent, _row: EventKind) -> None:
        self._reasoning(event, event.text, raw=True)

    def _on_item_completed(self, event: ItemCompleted, _row: EventKind) -> None:
        plan = plan_item_of(event)
        if plan is not None:
            # Up to 0.105 only Plan items were persisted; an empty plan shows nothing.
            if plan.text:
                item = PlanItem(
                    id=plan.id,
                    text=plan.text,
                    started_at_ms=event.started_at_ms,
                    completed_at_ms=event.completed_at_ms,
                )
                self._put(self._routed(event.turn_id, event), item)
            return
        converted = thread_item_of(event.item, event.started_at_ms, event.completed_at_ms)
        if converted is not None:
            self._put(self._routed(event.turn_id, event), converted)

    def _on_tool_item(self, event: Any, row: EventKind) -> None:
        assert row.item is not None
        if row.route == "own":
            turn = self._routed(getattr(event, "turn_id", None), event)
        else:
            turn = self._ensure_turn(event)
        self._put(turn, row.item(event))

    def _on_context_compacted(self, event: object, _row: EventKind) -> None:
        self._put(self._ensure_turn(event), ContextCompactionItem(id=self._count()))

    def _on_entered_review(self, event: EnteredReviewMode, _row: EventKind) -> None:
        item = EnteredReviewModeItem(id=self._count(), review=im.entered_review_text(event))
        self._put(self._ensure_turn(event), item)

    def _on_exited_review(self, event: ExitedReviewMode, _row: EventKind) -> None:
        item = ExitedReviewModeItem(id=self._count(), review=im.exited_review_text(event))
        self._put(self._ensure_turn(event), item)

    def _on_error(self, event: ErrorEvent, _row: EventKind) -> None:
        info = event.codex_error_info
        if isinstance(info, str) and info in _NON_STATUS_ERRORS:
            return
        if self._open is None:
            self._impossible(event)
            return
        error = TurnError(message=event.message, codex_error_info=im.error_info_to_v2(info))
        self._signal(self._open, "error", error)

    def _on_rolled_back(self, event: ThreadRolledBack, _row: EventKind) -> None:
        if self._open is not None and self._open.status == "inProgress":
            self._impossible(event)
        self._finish_open()
        keep = max(0, len(self._turns) - max(0, event.num_turns))
        dropped = self._turns[keep:]
        del self._turns[keep:]
        for turn in dropped:
            del self._by_id[turn.id]
        self._counter = sum(len(t.items) for t in self._turns)
        if dropped:
            self._changes.append(TurnsDropped([t.id for t in dropped]))


_FOLDS: Final[dict[str, Callable[[HistoryBuilder, Any, EventKind], None]]] = {
    name: getattr(HistoryBuilder, f"_on_{name}") for name in get_args(Fold)
}
"""The transition each ``fold`` name of the event table runs."""


def build_turns(
    items: Iterable[RolloutItem], *, new_id: Callable[[], str], running: bool = False
) -> list[Turn]:
    """Fold a whole list of rollout items into turns."""
    builder = HistoryBuilder(new_id)
    builder.feed_all(items)
    return builder.snapshot(running=running)
