"""Hypothesis strategies for the vocabulary, public so hosts can fuzz their own code with them
(like ``trio.testing``). Importing this module needs hypothesis (a test dependency).

Strategies are derived from the Struct definitions themselves (``msgspec.inspect``), so a
new event kind or field is covered the moment it is declared.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from threadlog.events.codec import EVENT_MSG_TYPES
from threadlog.events.response_items import RESPONSE_ITEM_TYPES
from threadlog.events.rollout import Compacted, RolloutLine, SessionMeta, TurnContext
from threadlog.events.timefmt import format_timestamp_ms

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_INT = st.integers(min_value=-(2**53), max_value=2**53)


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values (no NaN or infinities, which JSON cannot carry)."""
    scalars = st.none() | st.booleans() | _INT | st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(
        scalars | _TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
        max_leaves=max_leaves,
    )


def _for_type(t: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, mi.StrType):
        return _TEXT
    if isinstance(t, mi.IntType):
        return _INT
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.AnyType):
        return json_values()
    if isinstance(t, mi.ListType):
        return st.lists(_for_type(t.item_type), max_size=3)
    if isinstance(t, mi.DictType):
        return st.dictionaries(_TEXT, _for_type(t.value_type), max_size=3)
    if isinstance(t, mi.UnionType):
        return st.one_of(*(_for_type(member) for member in t.types))
    if isinstance(t, mi.StructType):
        return structs_of(t.cls)
    raise TypeError(f"no strategy for {t!r}")


def structs_of(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """Instances of a Struct class with every field drawn from its declared type."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.name: _for_type(f.type) for f in info.fields}
    return st.builds(cls, **fields)


def event_msgs() -> st.SearchStrategy[Any]:
    """Any modelled ``event_msg`` payload."""
    return st.one_of(*(structs_of(cls) for cls in EVENT_MSG_TYPES))


def response_items() -> st.SearchStrategy[Any]:
    """Any modelled ``response_item`` payload."""
    return st.one_of(*(structs_of(cls) for cls in RESPONSE_ITEM_TYPES))


def rollout_items() -> st.SearchStrategy[Any]:
    """Any modelled rollout item: every event, response item, meta, context and compaction."""
    return st.one_of(
        event_msgs(),
        response_items(),
        structs_of(SessionMeta),
        structs_of(TurnContext),
        structs_of(Compacted),
    )


def timestamps() -> st.SearchStrategy[str]:
    """Rollout timestamps in Codex's exact format."""
    return st.integers(min_value=0, max_value=4_102_444_800_000).map(format_timestamp_ms)


def rollout_lines() -> st.SearchStrategy[RolloutLine]:
    """Lines built in code (no raw bytes) holding any modelled item."""
    return st.builds(RolloutLine, timestamp=timestamps(), item=rollout_items())


_KNOWN_LINE_TYPES = {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
_KNOWN_INNER = {str(mi.type_info(c).tag) for c in (*EVENT_MSG_TYPES, *RESPONSE_ITEM_TYPES)}  # type: ignore[attr-defined]


def unknown_lines() -> st.SearchStrategy[bytes]:
    """Encoded lines a newer Codex might write: unknown line kinds, unknown inner kinds,
    and known kinds with extra fields we do not model."""
    new_name = st.from_regex(r"[a-z][a-z_]{2,20}", fullmatch=True)
    extras = st.dictionaries(
        st.from_regex(r"x_[a-z]{1,8}", fullmatch=True), json_values(), min_size=1, max_size=3
    )

    def unknown_kind(kind: str, payload: Any, ts: str) -> bytes:
        return msgspec.json.encode({"timestamp": ts, "type": kind, "payload": payload})

    unknown_line_kind = st.builds(
        unknown_kind,
        new_name.filter(lambda k: k not in _KNOWN_LINE_TYPES),
        json_values(),
        timestamps(),
    )
    unknown_inner = st.builds(
        lambda kind, inner, extra, ts: unknown_kind(kind, {"type": inner, **extra}, ts),
        st.sampled_from(["event_msg", "response_item"]),
        new_name.filter(lambda k: k not in _KNOWN_INNER),
        extras,
        timestamps(),
    )

    def with_extras(line: RolloutLine, extra: dict[str, Any]) -> bytes:
        obj = msgspec.json.decode(msgspec.json.encode(line.item))
        if isinstance(obj, dict):
            obj.update(extra)
        return unknown_kind(line.kind, obj, line.timestamp or "")

    extra_fields = st.builds(with_extras, rollout_lines(), extras)
    return st.one_of(unknown_line_kind, unknown_inner, extra_fields)
