"""Pure text helpers: middle truncation, the <proposed_plan> parser, ids and timestamps."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlog.events.ids import Uuid7Generator, is_thread_id, parse_thread_id, uuid7_timestamp_ms
from threadlog.events.plan_parser import (
    Normal,
    PlanDelta,
    PlanEnd,
    PlanStart,
    ProposedPlanParser,
    extract_proposed_plan_text,
    merge_segments,
    parse_all,
    strip_proposed_plan_blocks,
)
from threadlog.events.timefmt import (
    format_timestamp,
    format_timestamp_ms,
    parse_timestamp,
    timestamp_to_ms,
)
from threadlog.events.truncate import truncate_middle

_MARKER = re.compile(r"…(\d+) chars truncated…")
_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)


# --- truncation -------------------------------------------------------------------------


def test_text_within_budget_is_unchanged() -> None:
    assert truncate_middle("hello", 5) == "hello"
    assert truncate_middle("é" * 5, 10) == "é" * 5


def test_truncation_keeps_head_and_tail_and_counts_characters() -> None:
    out = truncate_middle("a" * 10 + "b" * 10, 10)
    assert out == "aaaaa…10 chars truncated…bbbbb"


def test_truncation_never_splits_a_multibyte_character() -> None:
    out = truncate_middle("€" * 100, 10)  # 3 bytes each: 3 fit in 5 bytes? no, 1 does
    assert out == "€…98 chars truncated…€"


@given(text=_TEXT, budget=st.integers(min_value=0, max_value=200))
def test_truncation_respects_budget_and_boundaries(text: str, budget: int) -> None:
    out = truncate_middle(text, budget)
    if len(text.encode()) <= budget:
        assert out == text
        return
    match = _MARKER.search(out)
    assert match is not None
    head, tail = out[: match.start()], out[match.end() :]
    assert len(head.encode()) + len(tail.encode()) <= budget
    assert text.startswith(head) and text.endswith(tail)
    assert int(match.group(1)) == len(text) - len(head) - len(tail)
    out.encode("utf-8")  # every character whole


# --- proposed plan parser --------------------------------------------------------------

PLAN = "before\n<proposed_plan>\n- step\n</proposed_plan>\nafter"


def test_plan_block_segments() -> None:
    assert parse_all(PLAN) == [
        Normal("before\n"),
        PlanStart(),
        PlanDelta("- step\n"),
        PlanEnd(),
        Normal("after"),
    ]


def test_strip_and_extract() -> None:
    assert strip_proposed_plan_blocks(PLAN) == "before\nafter"
    assert extract_proposed_plan_text(PLAN) == "- step\n"
    assert extract_proposed_plan_text("no plan here") is None
    two = "<proposed_plan>\nfirst\n</proposed_plan>\n<proposed_plan>\nsecond\n</proposed_plan>"
    assert extract_proposed_plan_text(two) == "second\n"


def test_tags_must_be_alone_on_their_line() -> None:
    assert parse_all("<proposed_plan> extra\nx") == [Normal("<proposed_plan> extra\nx")]
    assert parse_all("  <proposed_plan>  \nplan\n") == [
        PlanStart(),
        PlanDelta("plan\n"),
        PlanEnd(),
    ]


def test_tags_do_not_nest_and_stray_close_is_text() -> None:
    text = "</proposed_plan>\n<proposed_plan>\n<proposed_plan>\nx\n</proposed_plan>\n"
    assert parse_all(text) == [
        Normal("</proposed_plan>\n"),
        PlanStart(),
        PlanDelta("<proposed_plan>\nx\n"),
        PlanEnd(),
    ]


def test_unterminated_block_is_closed_by_finish() -> None:
    parser = ProposedPlanParser()
    assert parser.parse("<proposed_plan>\nhalf a pl") == [PlanStart(), PlanDelta("half a pl")]
    assert parser.finish() == [PlanEnd()]


def test_final_close_tag_without_newline_closes() -> None:
    parser = ProposedPlanParser()
    out = parser.parse("<proposed_plan>\nx\n</proposed_plan>")
    assert out == [PlanStart(), PlanDelta("x\n")]
    assert parser.finish() == [PlanEnd()]


_PLANNY = st.lists(
    st.sampled_from(
        [
            "<proposed_plan>",
            "</proposed_plan>",
            " <proposed_plan> ",
            "<proposed",
            "_plan>",
            "\n",
            "\n",
            "text",
            " ",
            "é",
            "<",
        ]
    ),
    max_size=30,
).map("".join)


@given(text=_PLANNY, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_segments_do_not_depend_on_how_deltas_are_split(text: str, cuts: list[int]) -> None:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    parser = ProposedPlanParser()
    out = [seg for piece in pieces for seg in parser.parse(piece)]
    out += parser.finish()
    assert merge_segments(out) == parse_all(text)


@given(text=_PLANNY)
def test_normal_and_plan_text_partition_the_input(text: str) -> None:
    segments = parse_all(text)
    starts = sum(isinstance(s, PlanStart) for s in segments)
    assert starts == sum(isinstance(s, PlanEnd) for s in segments)
    body = "".join(s.text for s in segments if isinstance(s, Normal | PlanDelta))
    assert len(body) <= len(text)


# --- ids and timestamps ----------------------------------------------------------------


def test_uuid7_layout_and_monotonic_within_one_millisecond() -> None:
    gen = Uuid7Generator(clock_ms=lambda: 1_700_000_000_000)
    ids = [gen() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for value in ids[:10]:
        parsed = uuid.UUID(value)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert uuid7_timestamp_ms(ids[0]) == 1_700_000_000_000
    # the 12-bit counter overflows within this burst: the clock is borrowed forward
    assert uuid7_timestamp_ms(ids[-1]) > 1_700_000_000_000


def test_uuid7_clock_going_backwards_stays_monotonic() -> None:
    times = iter([2000, 1000, 1000, 3000])
    gen = Uuid7Generator(clock_ms=lambda: next(times))
    ids = [gen() for _ in range(4)]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../etc/passwd",
        "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c/../x",
        "{01a20ab1-0ea2-7d20-b9b7-cee0ff50827c}",
        "urn:uuid:01a20ab1-0ea2-7d20-b9b7-cee0ff50827c",
        "01a20ab10ea27d20b9b7cee0ff50827c",
        "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c\n",
        "zzzzzzzz-0ea2-7d20-b9b7-cee0ff50827c",
        None,
        42,
    ],
)
def test_parse_thread_id_rejects_anything_but_a_canonical_uuid(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid thread id"):
        parse_thread_id(bad)
    assert not is_thread_id(bad)


def test_parse_thread_id_canonicalises_case() -> None:
    assert parse_thread_id("01A20AB1-0EA2-7D20-B9B7-CEE0FF50827C") == (
        "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
    )


def test_timestamp_format_is_exactly_codexs() -> None:
    moment = datetime(2026, 2, 10, 18, 22, 3, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-02-10T18:22:03.123Z"
    assert format_timestamp_ms(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2026-02-10T18:22:03.123Z", 1770747723123),
        ("2026-02-10T18:22:03Z", 1770747723000),
        ("2026-02-10T19:22:03.123456+01:00", 1770747723123),
        ("2026-02-10T18-22-03", 1770747723000),
    ],
)
def test_timestamps_parse_leniently(text: str, ms: int) -> None:
    assert timestamp_to_ms(text) == ms


def test_bad_timestamp_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_timestamp_round_trip(ms: int) -> None:
    assert timestamp_to_ms(format_timestamp_ms(ms)) == ms


@given(
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.integers(0, 999),
    st.sampled_from("Tt x"),
)
def test_codex_s_own_timestamp_shape_reads_as_the_general_parse_reads_it(
    year: int, month: int, day: int, hour: int, minute: int, second: int, ms: int, sep: str
) -> None:
    """``timestamp_to_ms`` reads Codex's usual shape by a shortcut: same answer, same errors."""
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"
    try:
        expected: int | None = (parse_timestamp(text) - datetime(1970, 1, 1, tzinfo=UTC)) // (
            timedelta(milliseconds=1)
        )
    except ValueError:
        expected = None
    try:
        got: int | None = timestamp_to_ms(text)
    except ValueError:
        got = None
    assert got == expected
