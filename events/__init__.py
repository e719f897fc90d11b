"""The immutable vocabulary of threadlog: rollout lines, events, ops and client views.

Pure values and pure functions only (no I/O, no trio). Everything else in threadlog speaks
these types; the JSON they encode to is the JSON Codex writes and reads.
"""

from threadlog.events.codec import (
    EVENT_MSG_TYPES,
    DecodeError,
    decode_line,
    decode_payload,
    encode_item,
    encode_line,
    peek_kinds,
)
from threadlog.events.event_msgs import EventMsg
from threadlog.events.response_items import ResponseItem
from threadlog.events.rollout import (
    Compacted,
    DynamicToolSpec,
    GitInfo,
    LegacyItem,
    RolloutItem,
    RolloutLine,
    SessionMeta,
    TurnContext,
    UnknownEventMsg,
    UnknownItem,
    UnknownResponseItem,
)

__all__ = [
    "EVENT_MSG_TYPES",
    "Compacted",
    "DecodeError",
    "DynamicToolSpec",
    "EventMsg",
    "GitInfo",
    "LegacyItem",
    "ResponseItem",
    "RolloutItem",
    "RolloutLine",
    "SessionMeta",
    "TurnContext",
    "UnknownEventMsg",
    "UnknownItem",
    "UnknownResponseItem",
    "decode_line",
    "decode_payload",
    "encode_item",
    "encode_line",
    "peek_kinds",
]

__version__ = "0.1.0"
