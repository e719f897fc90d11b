"""Fast metadata extraction from rollout bytes: decode only the lines the index uses.

Most of a rollout's bytes are response items (tool output, encrypted reasoning) that the
index never looks at. Lines written by Codex or by us start
``{"timestamp":"…","type":"<kind>","payload":{"type":"<inner>"…``, so the kind can be read
off the first bytes without parsing; only ``session_meta``, ``turn_context`` and the few
events the metadata fold uses are decoded, and of the frequent ``token_count`` events only
the last one. A line with any other layout falls back to a msgspec envelope peek, so an
unusual writer costs speed, never correctness. Pure: bytes in, fold state out.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from threadlog.events import DecodeError, RolloutLine, decode_line, peek_kinds
from threadlog.events.event_msgs import ItemCompleted, UserMessage
from threadlog.projections.metadata import MetadataExtractor
from threadlog.projections.turn_spans import TurnSpanner, is_turn_boundary

_TYPE_KEY: Final = b',"type":"'
_PAYLOAD_TYPE: Final = b',"payload":{"type":"'
# The usual layout, matched in one step: kind, and the inner type when the payload opens
# with it. A line it does not match goes to ``line_kinds``, which gives the same answer for
# every line this matches (its window is wider), and reads any other layout too.
_USUAL_KINDS: Final = re.compile(
    rb'\{"timestamp":"[^"]{0,40}","type":"([a-z_]{1,39})"(?:,"payload":\{"type":"([a-z_]{1,59})")?'
)
_DECODED_KINDS: Final = frozenset({"session_meta", "turn_context"})
_DECODED_EVENTS: Final = frozenset({"thread_name_updated"})
# 0.169+: the first user message is an ``item_completed`` (decoded while still needed)
_USER_EVENTS: Final = frozenset({"user_message", "item_completed"})


class ScanResult(msgspec.Struct):
    """How far a scan got and what it skipped."""

    end_offset: int
    lines: int = 0
    bad_lines: int = 0
    torn_tail: bool = False
    saw_meta: bool = False


def line_kinds(line: bytes) -> tuple[str | None, str | None]:
    """``(line type, inner payload type)`` read off the first bytes, else by a msgspec peek."""
    if line.startswith(b'{"timestamp":"'):
        type_at = line.find(_TYPE_KEY, 14, 80)
        if type_at > 0:
            start = type_at + len(_TYPE_KEY)
            end = line.find(b'"', start, start + 40)
            if end > 0:
                kind = line[start:end].decode("ascii", "replace")
                if kind not in ("event_msg", "response_item"):
                    return kind, None
                if line.startswith(_PAYLOAD_TYPE, end + 1):
                    inner_start = end + 1 + len(_PAYLOAD_TYPE)
                    inner_end = line.find(b'"', inner_start, inner_start + 60)
                    if inner_end > 0:
                        return kind, line[inner_start:inner_end].decode("ascii", "replace")
    return peek_kinds(line)


def scan_metadata(
    data: bytes,
    base_offset: int,
    extractor: MetadataExtractor,
    spanner: TurnSpanner | None = None,
    known: tuple[int, RolloutLine] | None = None,
) -> ScanResult:
    """Feed the metadata-relevant lines of ``data`` (complete lines only) to ``extractor``,
    and the turn boundaries to ``spanner`` (the turn index). ``known``: a line of ``data``
    the caller has decoded already, by its offset in the log, not decoded again."""
    result = ScanResult(end_offset=base_offset)
    need_user = not (extractor.row.first_user_message and extractor.row.title)
    last_token_count: bytes | None = None
    last_task_started: bytes | None = None
    pos = 0
    size = len(data)
    usual_kinds = _USUAL_KINDS.match
    while pos < size:
        newline = data.find(b"\n", pos)
        if newline < 0:
            result.torn_tail = bool(data[pos:].strip(b" \t\r\x00"))
            break
        line = data[pos:newline]
        line_start = base_offset + pos
        pos = newline + 1
        result.end_offset = base_offset + pos
        if not line.strip():
            continue
        result.lines += 1
        usual = usual_kinds(line)
        if usual is not None and (line_type := usual.group(1)) == b"response_item":
            continue  # most lines: never decoded, whatever their inner type
        if usual is not None and (line_type != b"event_msg" or usual.group(2) is not None):
            kind = line_type.decode()
            inner = usual.group(2).decode() if line_type == b"event_msg" else None
        else:
            try:
                kind, inner = line_kinds(line)
            except DecodeError:
                result.bad_lines += 1
                continue
        if kind == "event_msg" and spanner is not None and is_turn_boundary(inner):
            try:
                boundary = decode_line(line)
            except DecodeError:
                result.bad_lines += 1
                continue
            spanner.feed(boundary.item, line_start, result.end_offset, boundary.ordinal)
            if inner == "task_started":
                last_task_started = line
            continue
        if kind == "event_msg":
            if inner == "token_count":
                last_token_count = line
                continue
            if inner == "task_started":
                last_task_started = line
                continue
            if not (inner in _DECODED_EVENTS or (need_user and inner in _USER_EVENTS)):
                continue
        elif kind not in _DECODED_KINDS:
            continue
        try:
            if known is not None and known[0] == line_start:
                item = known[1].item
            else:
                item = decode_line(line).item
        except DecodeError:
            result.bad_lines += 1
            continue
        if kind == "session_meta":
            result.saw_meta = True
        extractor.feed(item)
        if isinstance(item, UserMessage | ItemCompleted) and need_user:
            need_user = not (extractor.row.first_user_message and extractor.row.title)
    # Of these, only the last one of the chunk counts.
    for last in (last_token_count, last_task_started):
        if last is None:
            continue
        try:
            extractor.feed(decode_line(last).item)
        except DecodeError:
            result.bad_lines += 1
    return result
