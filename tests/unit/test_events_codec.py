"""The rollout codec: lossless over every real file, typed where we model, strict on garbage."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.corpus import CODEX_REAL, CODEX_REAL_VERSIONS, corpus_rollout_files
from threadlog.events import (
    DecodeError,
    LegacyItem,
    RolloutLine,
    UnknownEventMsg,
    UnknownItem,
    UnknownResponseItem,
    decode_line,
    encode_line,
)
from threadlog.testing.vocabulary import rollout_lines, unknown_lines

UNKNOWN = (UnknownEventMsg, UnknownResponseItem, UnknownItem)


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


def test_corpus_has_rollouts() -> None:
    assert len(corpus_rollout_files()) > 400


def test_every_corpus_line_round_trips() -> None:
    count = 0
    for path in corpus_rollout_files():
        for raw in _lines(path):
            line = decode_line(raw)
            assert json.loads(encode_line(line)) == json.loads(raw), (path, raw[:200])
            count += 1
    assert count > 17_000


def test_versions_we_follow_decode_without_unknowns() -> None:
    # Every line kind the real homes hold is modelled, the 0.171 one's new kinds included.
    unknown: list[tuple[str, str]] = []
    paths = [
        p for v in CODEX_REAL_VERSIONS for p in sorted((CODEX_REAL / v).rglob("rollout-*.jsonl"))
    ]
    assert paths
    for path in paths:
        for raw in _lines(path):
            item = decode_line(raw).item
            if isinstance(item, (*UNKNOWN, LegacyItem)):
                unknown.append((path.name, item.type if isinstance(item, UNKNOWN) else "legacy"))
    assert unknown == []


def _modelled_subset(typed: object, original: object) -> bool:
    """Every key the typed encoding has is in the original with the same value (recursively)."""
    if isinstance(typed, dict) and isinstance(original, dict):
        return all(k in original and _modelled_subset(v, original[k]) for k, v in typed.items())
    if isinstance(typed, list) and isinstance(original, list):
        return len(typed) == len(original) and all(
            _modelled_subset(a, b) for a, b in zip(typed, original, strict=True)
        )
    return typed == original


def test_typed_items_keep_every_modelled_field() -> None:
    """Re-encoding a known item from its struct (raw dropped) keeps each field it models."""
    for path in corpus_rollout_files():
        for raw in _lines(path):
            line = decode_line(raw)
            if isinstance(line.item, (*UNKNOWN, LegacyItem)):
                continue
            typed = json.loads(encode_line(RolloutLine(line.timestamp, line.item)))
            original = json.loads(raw)
            assert typed["type"] == original["type"]
            for key, value in typed["payload"].items():
                if key in original["payload"]:
                    assert _modelled_subset(value, original["payload"][key]), (path.name, key)


def test_legacy_lines_are_kept() -> None:
    meta = b'{"id":"034db798-5912-47a1-bd0d-7b6b2ec3f90a","timestamp":"2025-08-25T11:22:51.133Z"}'
    for raw in (meta, b'{"record_type":"state"}', b'{"type":"message","role":"user","content":[]}'):
        line = decode_line(raw)
        assert isinstance(line.item, LegacyItem)
        assert line.kind == "legacy"
        assert json.loads(encode_line(line)) == json.loads(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(rollout_lines())
def test_generated_lines_round_trip(line: RolloutLine) -> None:
    encoded = encode_line(line)
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    back = decode_line(encoded)
    assert back.item == line.item
    assert back.timestamp == line.timestamp
    assert encode_line(RolloutLine(back.timestamp, back.item)) == encoded


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(unknown_lines())
def test_unknown_kinds_and_fields_survive(raw: bytes) -> None:
    line = decode_line(raw)
    assert json.loads(encode_line(line)) == json.loads(raw)


def test_unknown_event_keeps_its_type() -> None:
    raw = (
        b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",'
        b'"payload":{"type":"brand_new","x":1}}'
    )
    line = decode_line(raw)
    assert isinstance(line.item, UnknownEventMsg)
    assert line.item.type == "brand_new"
    assert line.kind == "event_msg"


def test_known_kind_with_changed_field_type_is_kept_not_dropped() -> None:
    raw = (
        b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",'
        b'"payload":{"type":"task_started","turn_id":{"nested":"in a newer Codex"}}}'
    )
    line = decode_line(raw)
    assert isinstance(line.item, UnknownEventMsg)
    assert line.item.type == "task_started"
    assert json.loads(encode_line(line)) == json.loads(raw)


GOOD = (
    b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",'
    b'"payload":{"type":"context_compacted"}}'
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (GOOD[:-7], "invalid JSON"),
        (b'{"timestamp":"2026","type":"event_msg","payload":{"type":"x\xff\xfe"}}', "invalid"),
        (b"[1,2,3]", "not a JSON object"),
        (b'{"timestamp":"2026-01-01T00:00:00.000Z","payload":{"type":"x"}}', "missing `type`"),
        (b'{"timestamp":"2026-01-01T00:00:00.000Z","type":7,"payload":{}}', "not a string"),
        (b'{"type":"event_msg","payload":{"type":"context_compacted"}}', "timestamp"),
        (b'{"foo":1}', "missing `type`"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x00" * 64, "invalid JSON"),
        (b"x" * 1_048_576, "invalid JSON"),
        (b'{"timestamp":"t","type":"event_msg","payload":' + b"[" * 1_000_000, "invalid JSON"),
    ],
)
def test_bad_input_is_a_decode_error(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_line(raw)
    assert reason in info.value.reason


def test_a_valid_megabyte_line_decodes() -> None:
    text = "y" * 1_048_576
    raw = msgspec.json.encode(
        {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "type": "event_msg",
            "payload": {"type": "agent_message", "message": text},
        }
    )
    line = decode_line(raw)
    assert line.item.message == text  # type: ignore[union-attr]


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_decode_error(raw: bytes) -> None:
    try:
        line = decode_line(raw)
    except DecodeError:
        return
    assert isinstance(line, RolloutLine)
