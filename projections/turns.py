"""Turn state for the history fold: the status transitions as a table, and the changes the
fold reports.

A turn's status moves only by ``TURN_TRANSITIONS``: a signal (the turn completed, was
aborted, failed, or was closed without ``task_complete``) applied to its status gives the
next one. Completion never revives a turn that failed or was interrupted; an abort or an
error always wins; a turn closed while still in progress can no longer finish and reads as
interrupted.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from threadlog.events.thread_items import ThreadItemKind
from threadlog.events.views import Turn, TurnError, TurnStatus

Signal = Literal["complete", "abort", "error", "close"]

TURN_TRANSITIONS: Final[dict[tuple[TurnStatus, Signal], TurnStatus]] = {
    ("inProgress", "complete"): "completed",
    ("completed", "complete"): "completed",
    ("failed", "complete"): "failed",
    ("interrupted", "complete"): "interrupted",
    ("inProgress", "abort"): "interrupted",
    ("completed", "abort"): "interrupted",
    ("failed", "abort"): "interrupted",
    ("interrupted", "abort"): "interrupted",
    ("inProgress", "error"): "failed",
    ("completed", "error"): "failed",
    ("failed", "error"): "failed",
    ("interrupted", "error"): "failed",
    ("inProgress", "close"): "interrupted",
    ("completed", "close"): "completed",
    ("failed", "close"): "failed",
    ("interrupted", "close"): "interrupted",
}
"""Every (status, signal) pair and the status it leads to."""


class HistoryError(ValueError):
    """An impossible sequence, raised by the fold in strict mode (the live actor, tests)."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"impossible in state {state}: {event}")
        self.state = state
        self.event = event


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


class TurnTimed(msgspec.Struct, frozen=True):
    """A turn's root id or timings became known (0.169+ ``task_started``/``task_complete``)."""

    turn_id: str
    root_turn_id: str | None
    started_at: int | None
    completed_at: int | None
    duration_ms: int | None


class TurnsDropped(msgspec.Struct, frozen=True):
    """Turns were removed: rolled back, or an implicit turn closed empty."""

    dropped: list[str]


Change = ItemAdded | ItemUpdated | TurnOpened | TurnChanged | TurnTimed | TurnsDropped


class TurnState:
    """One turn as the fold builds it (mutable inside the fold only)."""

    __slots__ = (
        "completed_at",
        "duration_ms",
        "error",
        "explicit",
        "id",
        "index",
        "items",
        "root_turn_id",
        "saw_compaction",
        "started_at",
        "status",
    )

    def __init__(self, turn_id: str, *, explicit: bool, status: TurnStatus) -> None:
        self.id = turn_id
        self.explicit = explicit
        self.status: TurnStatus = status
        self.error: TurnError | None = None
        self.items: list[ThreadItemKind] = []
        self.index: dict[str, int] = {}
        self.saw_compaction = False
        self.root_turn_id: str | None = None
        self.started_at: int | None = None
        self.completed_at: int | None = None
        self.duration_ms: int | None = None

    def timing(self) -> tuple[str | None, int | None, int | None, int | None]:
        """Root turn id, start, completion and duration as known so far."""
        return (self.root_turn_id, self.started_at, self.completed_at, self.duration_ms)

    def set_timing(
        self,
        root_turn_id: str | None,
        started_at: int | None,
        completed_at: int | None,
        duration_ms: int | None,
    ) -> TurnTimed | None:
        """Record new timings; the change to report, or None when nothing changed."""
        new = (root_turn_id, started_at, completed_at, duration_ms)
        if new == self.timing():
            return None
        self.root_turn_id, self.started_at, self.completed_at, self.duration_ms = new
        return TurnTimed(self.id, *new)

    def view(self, *, running: bool) -> Turn:
        """The turn as clients see it; not running, a turn in progress reads interrupted."""
        status = self.status
        if status == "inProgress" and not running:
            status = "interrupted"
        return Turn(
            id=self.id,
            items=list(self.items),
            status=status,
            error=self.error,
            root_turn_id=self.root_turn_id or self.id,
            started_at=self.started_at,
            completed_at=self.completed_at,
            duration_ms=self.duration_ms,
        )
