"""Opaque, versioned listing cursors: the client's form of a page ``Anchor``.

A cursor names the last row of a page: the sort key it was made for, that row's sort value
(Unix milliseconds) and its thread id (the tie breaker). It is handed to clients as
``tl1.`` + base64url(JSON) so they treat it as opaque, and every field is validated when it
comes back: a cursor from another sort key, a different version, or a hand-edited one is a
``CursorError``, never a crash or a query with a bad value.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

import msgspec

from threadlog.events.ids import is_thread_id
from threadlog.events.rows import SORT_KEYS, Anchor, SortKey

_PREFIX: Final = "tl1."
_MAX_LEN: Final = 512


class CursorError(ValueError):
    """A cursor that is malformed, from another version, or for another sort key."""


class _Wire(msgspec.Struct, frozen=True):
    k: str
    t: int
    i: str


def encode_cursor(cursor: Anchor) -> str:
    """The opaque string form of a cursor."""
    payload = msgspec.json.encode(_Wire(k=cursor.sort_key, t=cursor.value_ms, i=cursor.thread_id))
    return _PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(text: object, *, sort_key: SortKey) -> Anchor:
    """Parse and validate a cursor for a listing sorted by ``sort_key``."""
    if not isinstance(text, str) or not text.startswith(_PREFIX) or len(text) > _MAX_LEN:
        raise CursorError(f"invalid cursor: {str(text)[:80]!r}")
    body = text[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        wire = msgspec.json.decode(raw, type=_Wire)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise CursorError(f"invalid cursor: {text[:80]!r}") from None
    if wire.k not in SORT_KEYS or not is_thread_id(wire.i) or wire.t < 0:
        raise CursorError(f"invalid cursor: {text[:80]!r}")
    if wire.k != sort_key:
        raise CursorError(f"cursor was made for sort key {wire.k!r}, not {sort_key!r}")
    return Anchor(sort_key=sort_key, value_ms=wire.t, thread_id=wire.i.lower())
