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
    """The announcements of one thread."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self._started: set[str] = set()

    def mark(self, item_id: str) -> None:
        """An ``item/started`` for this id went out ahead of the fold."""
        self._started.add(item_id)

    def started(self, turn_id: str, item: ThreadItemKind) -> notes.Notification:
        """Announce an item ahead of the fold (``item/started`` now, completed later)."""
        self.mark(item.id)
        return notes.item_started(self.thread_id, turn_id, item)

    def finished(self, turn_id: str, item: ThreadItemKind) -> list[notes.Notification]:
        """An item ended that the log does not keep (limited mode): complete it directly."""
        out = (
            [] if item.id in self._started else [notes.item_started(self.thread_id, turn_id, item)]
        )
        self._started.discard(item.id)
        out.append(notes.item_completed(self.thread_id, turn_id, item))
        return out

    def of_changes(
        self, changes: list[Change], turn_of: Callable[[str], Turn | None]
    ) -> list[notes.Notification]:
        """The notifications for what one fold step changed."""
        out: list[notes.Notification] = []
        for change in changes:
            if isinstance(change, TurnOpened):
                turn = turn_of(change.turn_id)
                if turn is not None:
                    out.append(notes.turn_started(self.thread_id, turn))
            elif isinstance(change, ItemAdded):
                item = change.item
                if item.id in self._started:
                    out.append(notes.item_completed(self.thread_id, change.turn_id, item))
                    self._started.discard(item.id)
                elif notes.is_in_progress(item):
                    self._started.add(item.id)
                    out.append(notes.item_started(self.thread_id, change.turn_id, item))
                else:
                    out.append(notes.item_started(self.thread_id, change.turn_id, item))
                    out.append(notes.item_completed(self.thread_id, change.turn_id, item))
            elif isinstance(change, ItemUpdated) and not notes.is_in_progress(change.item):
                self._started.discard(change.item.id)
                out.append(notes.item_completed(self.thread_id, change.turn_id, change.item))
        return out
