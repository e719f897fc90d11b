"""Paging a thread's items (0.171's ``thread/items/list``): cursors and order (pure).

The items are those ``thread/read`` shows, each with the turn that holds it, oldest first
unless ``sortDirection`` is ``desc``; with ``turnId``, one turn's only. A page continues with
``nextCursor`` (after its last item, only when more follow); ``backwardsCursor`` pages the
other way from its first item, included. A cursor is compact JSON like the turn cursors,
naming its thread, so one thread's cursor is refused for another. ``cursor`` may also be an
item anchor ``{"type": "item", "itemId"}`` inside the requested turn (exclusive).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec

from threadlog.events.errors import InvalidRequestError
from threadlog.events.thread_items import ThreadItemKind
from threadlog.events.views import Turn
from threadlog.projections.turns_page import (
    check_cursor_thread,
    decode_json_cursor,
    invalid_cursor,
    page_size,
)

SortDirection = Literal["asc", "desc"]
_SCOPE: Final = "items"


class ItemCursor(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """A position among a thread's items."""

    requested_thread_id: str
    turn_id: str
    item_id: str
    include_anchor: bool
    scope: str = _SCOPE


class ItemsListParams(msgspec.Struct, frozen=True, rename="camel"):
    """``thread/items/list`` parameters (``deferOutput`` asks for nothing threadlog defers)."""

    thread_id: str
    turn_id: str | None = None
    cursor: str | dict[str, Any] | None = None
    limit: int | None = None
    sort_direction: SortDirection | None = None


class ItemEntry(msgspec.Struct, frozen=True, rename="camel"):
    """One item and its turn."""

    item: ThreadItemKind
    turn_id: str
    started_at_ms: int | None = None
    completed_at_ms: int | None = None


class ItemsPage(msgspec.Struct, frozen=True, rename="camel"):
    """The result of ``thread/items/list``."""

    data: list[ItemEntry]
    next_cursor: str | None = None
    backwards_cursor: str | None = None


_decoder = msgspec.json.Decoder(ItemCursor)


def _encode(thread_id: str, entry: ItemEntry, include: bool) -> str:
    cursor = ItemCursor(thread_id, entry.turn_id, entry.item.id, include)
    return msgspec.json.encode(cursor).decode()


def _anchor(
    params: ItemsListParams, thread_id: str, entries: Sequence[ItemEntry]
) -> tuple[int, bool] | None:
    """Where the cursor points (an index into ``entries``) and whether it is included."""
    cursor = params.cursor
    if cursor is None:
        return None
    if isinstance(cursor, dict):  # an item anchor inside the requested turn
        item_id = cursor.get("itemId")
        if cursor.get("type") != "item" or not isinstance(item_id, str):
            raise InvalidRequestError("invalid cursor: expected {type: item, itemId}")
        if not params.turn_id:
            raise InvalidRequestError("an item anchor needs a turnId")
        turn_id, include = params.turn_id, False
    else:
        parsed = decode_json_cursor(cursor, _decoder)
        if parsed.scope != _SCOPE:
            raise invalid_cursor(cursor)
        check_cursor_thread(parsed.requested_thread_id, thread_id)
        turn_id, item_id, include = parsed.turn_id, parsed.item_id, parsed.include_anchor
    for index, entry in enumerate(entries):
        if entry.turn_id == turn_id and entry.item.id == item_id:
            return index, include
    raise InvalidRequestError("invalid cursor: anchor item is no longer present")


def items_page(thread_id: str, turns: Sequence[Turn], params: ItemsListParams) -> ItemsPage:
    """One page of a thread's items."""
    if params.turn_id is not None and params.turn_id and all(t.id != params.turn_id for t in turns):
        raise InvalidRequestError(f"thread {thread_id} has no turn {params.turn_id}")
    entries = [
        ItemEntry(item, turn.id, item.started_at_ms, item.completed_at_ms)
        for turn in turns
        if not params.turn_id or turn.id == params.turn_id
        for item in turn.items
    ]
    descending = params.sort_direction == "desc"
    if descending:
        entries.reverse()
    start = 0
    anchor = _anchor(params, thread_id, entries)
    if anchor is not None:
        at, include = anchor
        start = at if include else at + 1
    size = page_size(params.limit)
    page = entries[start : start + size]
    more = start + size < len(entries)
    return ItemsPage(
        data=page,
        next_cursor=_encode(thread_id, page[-1], False) if page and more else None,
        backwards_cursor=_encode(thread_id, page[0], True) if page else None,
    )
