"""``thread/items/list`` paging (pure): every item once, in order, either way, by cursor."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlog.events.errors import InvalidRequestError
from threadlog.events.thread_items import AgentMessageItem
from threadlog.events.views import Turn
from threadlog.projections.items_page import ItemsListParams, items_page

TID = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
OTHER = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827d"


def thread(shape: list[int]) -> list[Turn]:
    turns, n = [], 0
    for t, count in enumerate(shape):
        items = []
        for _ in range(count):
            n += 1
            items.append(AgentMessageItem(id=f"item-{n}", text=str(n)))
        turns.append(Turn(id=f"turn-{t}", items=items, status="completed"))
    return turns


@given(
    shape=st.lists(st.integers(0, 4), max_size=6),
    limit=st.integers(1, 5),
    direction=st.sampled_from(["asc", "desc"]),
    one_turn=st.booleans(),
)
def test_pages_walk_every_item_once_in_order(
    shape: list[int], limit: int, direction: str, one_turn: bool
) -> None:
    turns = thread(shape)
    turn_id = turns[0].id if one_turn and turns else None
    expected = [(t.id, i.id) for t in turns if turn_id is None or t.id == turn_id for i in t.items]
    if direction == "desc":
        expected.reverse()
    walked: list[tuple[str, str]] = []
    cursor = None
    for _ in range(len(expected) + 2):
        page = items_page(
            TID,
            turns,
            ItemsListParams(TID, turn_id, cursor, limit, direction),  # type: ignore[arg-type]
        )
        assert len(page.data) <= limit
        walked += [(e.turn_id, e.item.id) for e in page.data]
        if page.data:
            # the backwards cursor pages the other way from this page's first item, included
            back = items_page(
                TID,
                turns,
                ItemsListParams(
                    TID,
                    turn_id,
                    page.backwards_cursor,
                    1,
                    "asc" if direction == "desc" else "desc",
                ),
            )
            assert back.data[0].item.id == page.data[0].item.id
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == expected


def test_bad_cursors_and_anchors_are_refused() -> None:
    turns = thread([2, 2])
    first = items_page(TID, turns, ItemsListParams(TID, limit=1))
    assert first.next_cursor is not None
    with pytest.raises(InvalidRequestError, match="belongs to thread"):
        items_page(OTHER, turns, ItemsListParams(OTHER, cursor=first.next_cursor))
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        items_page(TID, turns, ItemsListParams(TID, cursor="{not json"))
    gone = json.loads(first.next_cursor) | {"itemId": "item-99"}
    with pytest.raises(InvalidRequestError, match="no longer present"):
        items_page(TID, turns, ItemsListParams(TID, cursor=json.dumps(gone)))
    with pytest.raises(InvalidRequestError, match="needs a turnId"):
        items_page(TID, turns, ItemsListParams(TID, cursor={"type": "item", "itemId": "item-1"}))
    with pytest.raises(InvalidRequestError, match="has no turn"):
        items_page(TID, turns, ItemsListParams(TID, turn_id="turn-9"))
    anchored = items_page(
        TID, turns, ItemsListParams(TID, "turn-1", {"type": "item", "itemId": "item-3"})
    )
    assert [e.item.id for e in anchored.data] == ["item-4"]  # exclusive, within the turn
