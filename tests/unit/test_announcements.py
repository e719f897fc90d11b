"""Announcements: every item is started once and completed once, whatever announced it."""

from __future__ import annotations

from threadlog.events.thread_items import AgentMessageItem, CommandExecutionItem
from threadlog.events.views import Turn
from threadlog.projections.announcements import Announcer
from threadlog.projections.turns import ItemAdded, ItemUpdated, TurnOpened

TID = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"


def _turn(turn_id: str) -> Turn | None:
    return Turn(id=turn_id, items=[], status="inProgress")


def methods(notes: list[object]) -> list[tuple[str, str]]:
    out = []
    for note in notes:
        params = getattr(note, "params", {})
        item = params.get("item") if isinstance(params, dict) else None
        out.append((getattr(note, "method", ""), getattr(item, "id", "")))
    return out


def test_a_complete_item_is_started_and_completed_at_once() -> None:
    announcer = Announcer(TID)
    item = AgentMessageItem(id="item-1", text="hi")
    notes = announcer.of_changes([TurnOpened("t", "inProgress"), ItemAdded("t", item)], _turn)
    expected = [("turn/started", ""), ("item/started", "item-1"), ("item/completed", "item-1")]
    assert methods(notes) == expected


def test_a_running_tool_is_completed_when_its_end_replaces_it() -> None:
    announcer = Announcer(TID)
    running = CommandExecutionItem(id="call", command="ls", cwd="/", status="inProgress")
    done = CommandExecutionItem(id="call", command="ls", cwd="/", status="completed")
    assert methods(announcer.of_changes([ItemAdded("t", running)], _turn)) == [
        ("item/started", "call")
    ]
    assert methods(announcer.of_changes([ItemUpdated("t", running)], _turn)) == []
    finished = announcer.of_changes([ItemUpdated("t", done)], _turn)
    assert methods(finished) == [("item/completed", "call")]


def test_an_item_announced_ahead_is_only_completed_by_the_fold() -> None:
    announcer = Announcer(TID)
    streaming = AgentMessageItem(id="item-2", text="")
    assert methods([announcer.started("t", streaming)]) == [("item/started", "item-2")]
    whole = AgentMessageItem(id="item-2", text="all of it")
    added = announcer.of_changes([ItemAdded("t", whole)], _turn)
    assert methods(added) == [("item/completed", "item-2")]
    # Completed once: a second addition of the same id starts a new announcement.
    assert len(announcer.of_changes([ItemAdded("t", whole)], _turn)) == 2


def test_an_item_the_log_does_not_keep_is_finished_directly() -> None:
    announcer = Announcer(TID)
    item = CommandExecutionItem(id="c1", command="ls", cwd="/", status="completed")
    expected = [("item/started", "c1"), ("item/completed", "c1")]
    assert methods(announcer.finished("t", item)) == expected
    announcer.mark("c2")
    other = CommandExecutionItem(id="c2", command="ls", cwd="/", status="completed")
    assert methods(announcer.finished("t", other)) == [("item/completed", "c2")]
