"""Item and turn announcements: what a thread's fold changes tell the host (pure).

Every item a host sees is announced once with ``item/started`` and once with
``item/completed``, with the ids a later read of the log shows. Most items are complete when
the fold first sees them (started and completed go out together); a tool call still running
is announced when it appears and completed when its end replaces it; and an item the live
code announced ahead of the fold (a streaming message, a command about to run) is only
completed when the fold adds it. ``Announcer`` keeps that bookkeeping as a fold over the
fold's changes, so the actor only publishes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable

from threadlog.events import notifications as notes
from threadlog.events.thread_items import ThreadItemKind
from threadlog.events.views import Turn
from threadlog.projections.turns import Change, ItemAdded, ItemUpdated, TurnOpened


class Announcer:
    """The announcements of one thread; ``now_ms`` is when the caller saw the change."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self._started: dict[str, int] = {}
        """Items announced as started and not yet completed, with when they started."""

    def started(self, turn_id: str, item: ThreadItemKind, now_ms: int) -> notes.Notification:
        """Announce an item ahead of the fold (``item/started`` now, completed later)."""
        self._started[item.id] = now_ms
        return notes.item_started(self.thread_id, turn_id, item, now_ms)

    def finished(self, turn_id: str, item: ThreadItemKind, now_ms: int) -> list[notes.Notification]:
        """An item ended that the log does not keep (limited mode): complete it directly."""
        began = self._started.pop(item.id, None)
        out = (
            [] if began is not None else [notes.item_started(self.thread_id, turn_id, item, now_ms)]
        )
        started = began if began is not None else now_ms
        out.append(notes.item_completed(self.thread_id, turn_id, item, started, now_ms))
        return out

    def of_changes(
        self, changes: list[Change], turn_of: Callable[[str], Turn | None], now_ms: int
    ) -> list[notes.Notification]:
        """The notifications for what one fold step changed."""
        out: list[notes.Notification] = []
        for change in changes:
            if isinstance(change, TurnOpened):
                turn = turn_of(change.turn_id)
                if turn is not None:
                    out.append(notes.turn_started(self.thread_id, turn))
            elif isinstance(change, ItemAdded):
                item, turn_id = change.item, change.turn_id
                began = self._started.pop(item.id, None)
                if began is not None:
                    out.append(notes.item_completed(self.thread_id, turn_id, item, began, now_ms))
                elif notes.is_in_progress(item):
                    self._started[item.id] = now_ms
                    out.append(notes.item_started(self.thread_id, turn_id, item, now_ms))
                else:
                    out.append(notes.item_started(self.thread_id, turn_id, item, now_ms))
                    out.append(notes.item_completed(self.thread_id, turn_id, item, now_ms, now_ms))
            elif isinstance(change, ItemUpdated) and not notes.is_in_progress(change.item):
                began = self._started.pop(change.item.id, now_ms)
                out.append(
                    notes.item_completed(self.thread_id, change.turn_id, change.item, began, now_ms)
                )
        return out
