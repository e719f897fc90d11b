"""Paging a thread's turns (``thread/turns/list``): cursors, order and item views (pure).

Two cursor shapes, as 0.171 gives them:

* a thread whose turns carry rollout ordinals (0.169+ paginated logs) is paged by ordinal:
  ``{"requestedThreadId", "rolloutOrdinal", "includeAnchor", "scope": {"kind": "turns"}}``,
  the ordinal of a turn's ``task_started`` line, so a page is found in the turn index
  without reading the thread;
* any other thread is folded whole and paged by turn id: ``{"turnId", "includeAnchor"}``.

Newest first unless asked otherwise; 25 turns a page, at most 100. ``nextCursor`` continues
after the page's last turn (only when more follow); ``backwardsCursor`` pages back from its
first turn, included. A cursor that is not one of ours, or is another thread's, is an
``InvalidRequestError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, TypeVar

import msgspec

from threadlog.events.errors import InvalidRequestError
from threadlog.events.thread_items import AgentMessageItem, ThreadItemKind, UserMessageItem
from threadlog.events.views import Turn, TurnItemsView

DEFAULT_LIMIT: Final = 25
MAX_LIMIT: Final = 100
MAX_CURSOR_LEN: Final = 1000

SortDirection = Literal["asc", "desc"]
T = TypeVar("T")
C = TypeVar("C")


class CursorScope(msgspec.Struct, frozen=True):
    """What a cursor pages (always turns here)."""

    kind: str = "turns"


class OrdinalCursor(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """A position among a thread's turns by the ordinal of a turn's first line."""

    requested_thread_id: str
    rollout_ordinal: int
    include_anchor: bool
    scope: CursorScope = CursorScope()


class TurnIdCursor(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """A position among a thread's turns by a turn's id."""

    turn_id: str
    include_anchor: bool


class TurnsPage(msgspec.Struct, frozen=True, rename="camel"):
    """The result of ``thread/turns/list``."""

    data: list[Turn]
    next_cursor: str | None = None
    backwards_cursor: str | None = None


_ordinal_decoder = msgspec.json.Decoder(OrdinalCursor)
_turn_id_decoder = msgspec.json.Decoder(TurnIdCursor)


def page_size(limit: int | None) -> int:
    """The page size asked for, clamped to 1..100 (25 when not given)."""
    return max(1, min(MAX_LIMIT, DEFAULT_LIMIT if limit is None else limit))


def invalid_cursor(cursor: str) -> InvalidRequestError:
    """The error for a cursor that is not one of ours."""
    return InvalidRequestError(f"invalid cursor: {cursor[:120]}")


def decode_json_cursor(cursor: str, decoder: msgspec.json.Decoder[C]) -> C:
    """A compact-JSON cursor parsed by ``decoder``; bounded in size, refused when not ours."""
    if len(cursor) > MAX_CURSOR_LEN:
        raise invalid_cursor(cursor)
    try:
        return decoder.decode(cursor)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise invalid_cursor(cursor) from None


def check_cursor_thread(requested_thread_id: str, thread_id: str) -> None:
    """Refuse a cursor that was made for another thread."""
    if requested_thread_id.lower() != thread_id:
        raise InvalidRequestError(
            f"invalid cursor: it belongs to thread {requested_thread_id[:40]}"
        )


def decode_ordinal_cursor(cursor: str, thread_id: str) -> OrdinalCursor:
    """Parse an ordinal cursor given for ``thread_id``."""
    parsed = decode_json_cursor(cursor, _ordinal_decoder)
    if parsed.scope.kind != "turns" or parsed.rollout_ordinal < 0:
        raise invalid_cursor(cursor)
    check_cursor_thread(parsed.requested_thread_id, thread_id)
    return parsed


def decode_turn_id_cursor(cursor: str) -> TurnIdCursor:
    """Parse a turn-id cursor."""
    return decode_json_cursor(cursor, _turn_id_decoder)


def encode_cursor(cursor: OrdinalCursor | TurnIdCursor) -> str:
    """A cursor's wire form (compact JSON, as 0.171 writes it)."""
    return msgspec.json.encode(cursor).decode()


def page_by_ordinal(
    ordinals: Sequence[int],
    thread_id: str,
    cursor: str | None,
    limit: int | None,
    direction: SortDirection,
) -> tuple[list[int], str | None, str | None]:
    """Which positions of ``ordinals`` (ascending) a page holds, and its two cursors."""
    anchor = decode_ordinal_cursor(cursor, thread_id) if cursor is not None else None
    positions = list(range(len(ordinals)))
    if direction == "desc":
        positions.reverse()
    if anchor is not None:
        at, include = anchor.rollout_ordinal, anchor.include_anchor
        if direction == "desc":
            positions = [
                p for p in positions if ordinals[p] < at or (include and ordinals[p] == at)
            ]
        else:
            positions = [
                p for p in positions if ordinals[p] > at or (include and ordinals[p] == at)
            ]
    size = page_size(limit)
    more = len(positions) > size
    positions = positions[:size]
    forwards, backwards = ordinal_cursors(thread_id, [ordinals[p] for p in positions], more=more)
    return positions, forwards, backwards


def ordinal_cursors(
    thread_id: str, page: Sequence[int], *, more: bool
) -> tuple[str | None, str | None]:
    """A page's cursors from its turns' ordinals in page order: on after its last turn
    (only when ``more`` follow), back from its first (included)."""
    if not page:
        return None, None
    backwards = encode_cursor(OrdinalCursor(thread_id, page[0], True))
    forwards = encode_cursor(OrdinalCursor(thread_id, page[-1], False)) if more else None
    return forwards, backwards


def page_by_turn_id(
    turns: Sequence[T],
    ids: Sequence[str],
    cursor: str | None,
    limit: int | None,
    direction: SortDirection,
) -> tuple[list[T], str | None, str | None]:
    """A page of whole-thread turns by turn-id cursor (``ids[i]`` is ``turns[i]``'s id)."""
    anchor = decode_turn_id_cursor(cursor) if cursor is not None else None
    anchor_at = None
    if anchor is not None:
        if anchor.turn_id not in ids:
            raise InvalidRequestError("invalid cursor: anchor turn is no longer present")
        anchor_at = ids.index(anchor.turn_id)
    positions = list(range(len(turns)))
    if direction == "desc":
        positions.reverse()
    if anchor is not None and anchor_at is not None:
        include = anchor.include_anchor
        if direction == "desc":
            positions = [p for p in positions if p < anchor_at or (include and p == anchor_at)]
        else:
            positions = [p for p in positions if p > anchor_at or (include and p == anchor_at)]
    size = page_size(limit)
    more = len(positions) > size
    positions = positions[:size]
    backwards = encode_cursor(TurnIdCursor(ids[positions[0]], True)) if positions else None
    forwards = (
        encode_cursor(TurnIdCursor(ids[positions[-1]], False)) if more and positions else None
    )
    return [turns[p] for p in positions], forwards, backwards


def with_items_view(turn: Turn, view: TurnItemsView) -> Turn:
    """A turn as an item view shows it: every item, a summary, or none.

    The summary is the turn's first user message and its last agent message.
    """
    if view == "full":
        return msgspec.structs.replace(turn, items_view="full")
    if view == "notLoaded":
        return msgspec.structs.replace(turn, items=[], items_view="notLoaded")
    user = next((i for i in turn.items if isinstance(i, UserMessageItem)), None)
    agent = next((i for i in reversed(turn.items) if isinstance(i, AgentMessageItem)), None)
    items: list[ThreadItemKind] = [i for i in (user, agent) if i is not None]
    if user is not None and agent is not None and user.id == agent.id:
        items = [user]
    return msgspec.structs.replace(turn, items=items, items_view="summary")
