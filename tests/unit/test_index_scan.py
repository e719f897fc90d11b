"""The index scan reads a line's kinds off its first bytes: its one-step match of the
usual layout must agree with ``line_kinds`` on every line it matches."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from threadlog.projections.index_scan import _USUAL_KINDS, line_kinds

# Kinds and inner types with the characters that take the match off its fast path too.
_names = st.text(alphabet='abz_-"A\\é', min_size=0, max_size=70)
_stamps = st.text(alphabet='0123456789-:TZ."\\x', min_size=0, max_size=60)


@given(
    stamp=_stamps,
    kind=st.one_of(st.sampled_from(["event_msg", "response_item", "turn_context"]), _names),
    inner=st.one_of(st.none(), st.sampled_from(["task_started", "message"]), _names),
    rest=st.dictionaries(st.sampled_from(["a", "type", "payload"]), st.integers(), max_size=2),
)
def test_the_usual_layout_match_agrees_with_line_kinds(
    stamp: str, kind: str, inner: str | None, rest: dict[str, int]
) -> None:
    payload: dict[str, object] = {"type": inner} if inner is not None else {"x": 1}
    line = json.dumps(
        {"timestamp": stamp, "type": kind, "payload": {**payload, **rest}},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    usual = _USUAL_KINDS.match(line)
    if usual is None:
        return  # the scan asks line_kinds itself
    line_type, inner_type = usual.group(1), usual.group(2)
    expected_kind, expected_inner = line_kinds(line)
    assert line_type.decode() == expected_kind
    if line_type in (b"event_msg", b"response_item") and inner_type is not None:
        assert inner_type.decode() == expected_inner


def test_the_usual_layout_is_matched_and_others_are_not() -> None:
    usual = b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"x"}}'
    match = _USUAL_KINDS.match(usual)
    assert match is not None and match.groups() == (b"event_msg", b"x")
    assert _USUAL_KINDS.match(b'{"type":"event_msg","timestamp":"t","payload":{}}') is None
    assert _USUAL_KINDS.match(b'{"timestamp":"t","type":"event-msg","payload":{}}') is None
