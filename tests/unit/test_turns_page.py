"""Paging turns: both cursor shapes, both directions, limits and item views (pure)."""

from __future__ import annotations

import pytest

from threadlog.events.errors import InvalidRequestError
from threadlog.events.thread_items import (
    AgentMessageItem,
    ReasoningItem,
    TextInput,
    UserMessageItem,
)
from threadlog.events.views import Turn
from threadlog.projections.turns_page import (
    MAX_LIMIT,
    page_by_ordinal,
    page_by_turn_id,
    with_items_view,
)

TID = "01a23595-0a44-7751-bd2b-ceb90b05bfb4"
ORDINALS = [1, 15, 26, 33, 40]


def walk(direction: str, limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        positions, cursor, _ = page_by_ordinal(ORDINALS, TID, cursor, limit, direction)  # type: ignore[arg-type]
        pages.append([ORDINALS[p] for p in positions])
        if cursor is None:
            return pages


def test_ordinal_pages_walk_every_turn_once_in_either_direction() -> None:
    assert walk("desc", 2) == [[40, 33], [26, 15], [1]]
    assert walk("asc", 2) == [[1, 15], [26, 33], [40]]


def test_the_backwards_cursor_pages_back_from_the_first_turn_included() -> None:
    _, forwards, _ = page_by_ordinal(ORDINALS, TID, None, 2, "desc")
    positions, _, backwards = page_by_ordinal(ORDINALS, TID, forwards, 2, "desc")
    assert [ORDINALS[p] for p in positions] == [26, 15]
    back, _, _ = page_by_ordinal(ORDINALS, TID, backwards, 5, "asc")
    assert [ORDINALS[p] for p in back] == [26, 33, 40]


def test_limits_are_clamped() -> None:
    many = list(range(500))
    assert len(page_by_ordinal(many, TID, None, 10_000, "desc")[0]) == MAX_LIMIT
    assert len(page_by_ordinal(many, TID, None, 0, "desc")[0]) == 1
    assert len(page_by_ordinal(many, TID, None, None, "desc")[0]) == 25


@pytest.mark.parametrize(
    "cursor",
    ["", "[]", "x" * 2000, '{"requestedThreadId": 1}', '{"turnId": "a", "includeAnchor": true}'],
)
def test_a_bad_ordinal_cursor_is_an_invalid_request(cursor: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid cursor"):
        page_by_ordinal(ORDINALS, TID, cursor, 2, "desc")


def test_a_turn_id_cursor_must_name_a_turn_still_there() -> None:
    ids = ["a", "b", "c"]
    page, forwards, backwards = page_by_turn_id(ids, ids, None, 2, "desc")
    assert page == ["c", "b"] and forwards is not None and backwards is not None
    assert page_by_turn_id(ids, ids, forwards, 2, "desc")[0] == ["a"]
    with pytest.raises(InvalidRequestError, match="no longer present"):
        page_by_turn_id(["a"], ["a"], forwards, 2, "desc")


def test_the_summary_is_the_first_user_message_and_the_last_answer() -> None:
    user = UserMessageItem(id="u", content=[TextInput(text="hi")])
    items = [
        user,
        AgentMessageItem(id="a1", text="one"),
        ReasoningItem(id="r"),
        AgentMessageItem(id="a2", text="two"),
    ]
    turn = Turn(id="t", items=items, status="completed")
    assert [i.id for i in with_items_view(turn, "summary").items] == ["u", "a2"]
    assert with_items_view(turn, "notLoaded").items == []
    assert with_items_view(turn, "full").items == items
