"""Announcements: every item is started once and completed once, whatever announced it."""

from __future__ import annotations

import msgspec

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
    notes = announcer.of_changes([TurnOpened("t", "inProgress"), ItemAdded("t", item)], _turn, 7)
    expected = [("turn/started", ""), ("item/started", "item-1"), ("item/completed", "item-1")]
    assert methods(notes) == expected
    assert notes[1].params["startedAtMs"] == 7 and notes[2].params["completedAtMs"] == 7


def test_a_running_tool_is_completed_when_its_end_replaces_it() -> None:
    announcer = Announcer(TID)
    running = CommandExecutionItem(id="call", command="ls", cwd="/", status="inProgress")
    done = CommandExecutionItem(id="call", command="ls", cwd="/", status="completed")
    assert methods(announcer.of_changes([ItemAdded("t", running)], _turn, 100)) == [
        ("item/started", "call")
    ]
    assert methods(announcer.of_changes([ItemUpdated("t", running)], _turn, 150)) == []
    finished = announcer.of_changes([ItemUpdated("t", done)], _turn, 250)
    assert methods(finished) == [("item/completed", "call")]
    # the item carries its whole lifecycle, as 0.171's item/completed does
    item = finished[0].params["item"]
    assert (item.started_at_ms, item.completed_at_ms) == (100, 250)
    assert finished[0].params["completedAtMs"] == 250


def test_an_item_announced_ahead_is_only_completed_by_the_fold() -> None:
    announcer = Announcer(TID)
    streaming = AgentMessageItem(id="item-2", text="")
    started = announcer.started("t", streaming, 5)
    assert methods([started]) == [("item/started", "item-2")]
    assert started.params["item"].completed_at_ms is None
    whole = AgentMessageItem(id="item-2", text="all of it")
    added = announcer.of_changes([ItemAdded("t", whole)], _turn, 9)
    assert methods(added) == [("item/completed", "item-2")]
    assert (added[0].params["item"].started_at_ms, added[0].params["completedAtMs"]) == (5, 9)
    # Completed once: a second addition of the same id starts a new announcement.
    assert len(announcer.of_changes([ItemAdded("t", whole)], _turn, 10)) == 2


def test_an_item_with_its_own_times_keeps_them() -> None:
    announcer = Announcer(TID)
    item = AgentMessageItem(id="m", text="read back", started_at_ms=1, completed_at_ms=2)
    notes = announcer.of_changes([ItemAdded("t", item)], _turn, 99)
    assert [n.params["item"].started_at_ms for n in notes] == [1, 1]
    assert notes[1].params["item"].completed_at_ms == 2 and notes[1].params["completedAtMs"] == 2


def test_an_item_the_log_does_not_keep_is_finished_directly() -> None:
    announcer = Announcer(TID)
    item = CommandExecutionItem(id="c1", command="ls", cwd="/", status="completed")
    expected = [("item/started", "c1"), ("item/completed", "c1")]
    assert methods(announcer.finished("t", item, 3)) == expected
    other = CommandExecutionItem(id="c2", command="ls", cwd="/", status="inProgress")
    announcer.started("t", other, 4)
    done = msgspec.structs.replace(other, status="completed")
    finished = announcer.finished("t", done, 8)
    assert methods(finished) == [("item/completed", "c2")]
    assert finished[0].params["item"].started_at_ms == 4
