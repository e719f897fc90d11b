"""The JSONL codec: bytes of one rollout line <-> ``RolloutLine``.

Decoding is one msgspec pass on the happy path: the line is decoded straight into a tagged
union of typed line shapes. Anything that pass rejects (an unknown line kind, an unknown
event, a field whose type a newer Codex changed, the 2025 pre-envelope format) takes a slow
path that still keeps the line, as an ``Unknown*`` or ``LegacyItem`` value; only text that
is not a rollout line at all raises ``DecodeError``. Every decoded line keeps its bytes, and
``encode_line`` re-emits them, so decode -> encode never loses a field.
"""

from __future__ import annotations

from typing import Any, Union, cast

import msgspec

from threadlog.events.event_msgs import CORE_EVENT_TYPES, EventMsg
from threadlog.events.response_items import RESPONSE_ITEM_TYPES, ResponseItem
from threadlog.events.rollout import (
    Compacted,
    LegacyItem,
    RolloutItem,
    RolloutLine,
    SessionMeta,
    TokenUsageRecord,
    TurnContext,
    UnknownEventMsg,
    UnknownItem,
    UnknownResponseItem,
    WorldState,
    item_kind,
)
from threadlog.events.tool_events import TOOL_EVENT_TYPES

EVENT_MSG_TYPES: tuple[type[EventMsg], ...] = CORE_EVENT_TYPES + TOOL_EVENT_TYPES
"""Every modelled ``event_msg`` kind."""

EventMsgUnion: Any = Union[EVENT_MSG_TYPES]  # noqa: UP007 - built from a tuple at runtime
ResponseItemUnion: Any = Union[RESPONSE_ITEM_TYPES]  # noqa: UP007


class DecodeError(ValueError):
    """The bytes are not a rollout line; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _SessionMetaLine(msgspec.Struct, tag_field="type", tag="session_meta", gc=False):
    timestamp: str
    payload: SessionMeta
    ordinal: int | None = None


class _ResponseItemLine(msgspec.Struct, tag_field="type", tag="response_item", gc=False):
    timestamp: str
    payload: ResponseItemUnion
    ordinal: int | None = None


class _EventMsgLine(msgspec.Struct, tag_field="type", tag="event_msg", gc=False):
    timestamp: str
    payload: EventMsgUnion
    ordinal: int | None = None


class _TurnContextLine(msgspec.Struct, tag_field="type", tag="turn_context", gc=False):
    timestamp: str
    payload: TurnContext
    ordinal: int | None = None


class _CompactedLine(msgspec.Struct, tag_field="type", tag="compacted", gc=False):
    timestamp: str
    payload: Compacted
    ordinal: int | None = None


class _WorldStateLine(msgspec.Struct, tag_field="type", tag="world_state", gc=False):
    timestamp: str
    payload: WorldState
    ordinal: int | None = None


class _TokenUsageRecordLine(msgspec.Struct, tag_field="type", tag="token_usage_record", gc=False):
    timestamp: str
    payload: TokenUsageRecord
    ordinal: int | None = None


_TypedLine = (
    _SessionMetaLine
    | _ResponseItemLine
    | _EventMsgLine
    | _TurnContextLine
    | _CompactedLine
    | _WorldStateLine
    | _TokenUsageRecordLine
)


class _Envelope(msgspec.Struct):
    timestamp: Any = None
    type: Any = None
    payload: msgspec.Raw = msgspec.Raw(b"")
    ordinal: Any = None


class _Tag(msgspec.Struct):
    type: Any = None


_typed_decoder = msgspec.json.Decoder(_TypedLine)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_tag_decoder = msgspec.json.Decoder(_Tag)
_any_decoder = msgspec.json.Decoder()
_event_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(EventMsgUnion)
_response_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ResponseItemUnion)
_payload_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    "session_meta": msgspec.json.Decoder(SessionMeta),
    "turn_context": msgspec.json.Decoder(TurnContext),
    "compacted": msgspec.json.Decoder(Compacted),
    "world_state": msgspec.json.Decoder(WorldState),
    "token_usage_record": msgspec.json.Decoder(TokenUsageRecord),
}
_encoder = msgspec.json.Encoder()

_WHITESPACE = b" \t\r\n"


def decode_line(data: bytes | bytearray | memoryview) -> RolloutLine:
    """Decode one rollout line (without or with its trailing newline).

    Raises ``DecodeError`` for invalid JSON or UTF-8, and for JSON that is not a rollout line.
    """
    raw = bytes(data).strip(_WHITESPACE)
    try:
        typed = _typed_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return _decode_slow(raw)
    return RolloutLine(typed.timestamp, typed.payload, raw, typed.ordinal)


def _decode_slow(raw: bytes) -> RolloutLine:
    if not raw:
        raise DecodeError("empty line")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
    try:
        envelope = _envelope_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"not a JSON object: {exc}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DecodeError("invalid JSON: nested too deeply") from None
    if envelope.type is None and not envelope.payload:
        legacy = _legacy_item(raw)
        if legacy is not None:
            return RolloutLine(None, legacy, raw)
        raise DecodeError("missing `type`")
    if envelope.type is None:
        raise DecodeError("missing `type`")
    if not isinstance(envelope.type, str):
        raise DecodeError("`type` is not a string")
    if not envelope.payload:
        if envelope.timestamp is None:
            # A bare response item from the 2025 pre-envelope format.
            return RolloutLine(None, LegacyItem(msgspec.Raw(raw)), raw)
        raise DecodeError("missing `payload`")
    if not isinstance(envelope.timestamp, str):
        raise DecodeError("missing or non-string `timestamp`")
    item = decode_payload(envelope.type, envelope.payload)
    ordinal = envelope.ordinal if type(envelope.ordinal) is int else None
    return RolloutLine(envelope.timestamp, item, raw, ordinal)


def _legacy_item(raw: bytes) -> LegacyItem | None:
    obj = _any_decoder.decode(raw)
    if not isinstance(obj, dict):
        return None
    is_state = "record_type" in obj
    is_bare_meta = "id" in obj and "timestamp" in obj
    return LegacyItem(msgspec.Raw(raw)) if is_state or is_bare_meta else None


def decode_payload(kind: str, payload: bytes | msgspec.Raw) -> RolloutItem:
    """Decode a payload of line kind ``kind``; what does not validate is kept as unknown."""
    raw = payload if isinstance(payload, msgspec.Raw) else msgspec.Raw(payload)
    if kind == "event_msg":
        try:
            return cast(EventMsg, _event_decoder.decode(raw))
        except msgspec.DecodeError:
            return UnknownEventMsg(_inner_type(raw), raw)
    if kind == "response_item":
        try:
            return cast(ResponseItem, _response_decoder.decode(raw))
        except msgspec.DecodeError:
            return UnknownResponseItem(_inner_type(raw), raw)
    decoder = _payload_decoders.get(kind)
    if decoder is not None:
        try:
            return cast(RolloutItem, decoder.decode(raw))
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass
    return UnknownItem(kind, raw)


def _inner_type(raw: msgspec.Raw) -> str:
    try:
        tag = _tag_decoder.decode(raw).type
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ""
    return tag if isinstance(tag, str) else ""


def peek_kinds(data: bytes) -> tuple[str | None, str | None]:
    """The line ``type`` and, when the payload has one, its inner ``type``, without a full decode.

    For indexers that only need to know what a line is before deciding to decode it.
    Raises ``DecodeError`` for invalid JSON.
    """
    try:
        envelope = _envelope_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    kind = envelope.type if isinstance(envelope.type, str) else None
    inner = _inner_type(envelope.payload) if envelope.payload else None
    return kind, inner or None


def encode_item(item: object) -> bytes:
    """Encode any vocabulary value (payload, op, view) as compact JSON."""
    return _encoder.encode(item)


def encode_line(line: RolloutLine) -> bytes:
    """Encode a line as one JSON object and ``\\n``; a decoded line re-emits its own bytes."""
    if line.raw is not None:
        return line.raw + b"\n"
    item = line.item
    if isinstance(item, LegacyItem):
        return bytes(item.data) + b"\n"
    if isinstance(item, UnknownItem | UnknownEventMsg | UnknownResponseItem):
        payload = bytes(item.payload)
    else:
        payload = _encoder.encode(item)
    return b"".join(
        (
            b'{"timestamp":',
            _encoder.encode(line.timestamp),
            b"" if line.ordinal is None else b',"ordinal":%d' % line.ordinal,
            b',"type":',
            _encoder.encode(item_kind(item)),
            b',"payload":',
            payload,
            b"}\n",
        )
    )
