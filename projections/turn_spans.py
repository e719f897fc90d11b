"""Where each turn of a log is: the turn index's spans, folded from lines as they are read.

A turn's span runs from its ``task_started`` line to the end of its ``task_complete`` (or
``turn_aborted``) line. A ``task_started`` while a turn is open closes the open one where
the new one begins (a crash left it open). Lines outside every span (settings, the session
meta) belong to no turn. Pure: the caller gives each relevant line's offsets and item.

``thread/turns/list`` reads a page of turns as just those spans' bytes, so the cost of the
last page of a huge thread is the size of its turns, not of the thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from threadlog.events.event_msgs import TaskComplete, TaskStarted, TurnAborted
from threadlog.events.rollout import RolloutItem
from threadlog.events.rows import TurnSpan

OWN_LOG: Final = ""
"""``TurnSpan.log_location`` of a turn in the thread's own log (its location may change: a
thread is archived, unarchived); an inherited turn names its base log's location."""


class TurnSpanner:
    """Folds turn boundaries of one log into spans (continuing from stored spans)."""

    def __init__(self, log_location: str, previous: Iterable[TurnSpan] = ()) -> None:
        self.log_location = log_location
        self.spans: list[TurnSpan] = list(previous)

    @property
    def open(self) -> TurnSpan | None:
        """The last span of this log while its turn has not ended."""
        last = self.spans[-1] if self.spans else None
        if last is None or last.end_offset is not None or last.log_location != self.log_location:
            return None
        return last

    def feed(self, item: RolloutItem, start: int, end: int, ordinal: int | None) -> None:
        """Apply one line (its item and byte range in the log)."""
        if isinstance(item, TaskStarted):
            self._close(start)
            self.spans.append(TurnSpan(item.turn_id, self.log_location, start, None, ordinal))
        elif isinstance(item, TaskComplete | TurnAborted):
            current = self.open
            if current is not None and (not item.turn_id or item.turn_id == current.turn_id):
                self._close(end)

    def cut(self, end_offset: int) -> list[TurnSpan]:
        """The spans as a base of a fork that inherits this log up to ``end_offset``."""
        kept = [s for s in self.spans if s.start_offset < end_offset]
        return [
            s
            if s.end_offset is not None and s.end_offset <= end_offset
            else TurnSpan(s.turn_id, s.log_location, s.start_offset, end_offset, s.ordinal)
            for s in kept
        ]

    def _close(self, end: int) -> None:
        current = self.open
        if current is not None:
            self.spans[-1] = TurnSpan(
                current.turn_id, current.log_location, current.start_offset, end, current.ordinal
            )


def is_turn_boundary(inner: str | None) -> bool:
    """Whether an ``event_msg`` of this inner type can open or close a span."""
    return inner in (
        "task_started",
        "turn_started",
        "task_complete",
        "turn_complete",
        "turn_aborted",
    )
