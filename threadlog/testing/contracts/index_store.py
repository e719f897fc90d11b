"""The contract of ``IndexStore`` (requirements I1-I6 of ``store.ports``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlog.events.ids import Uuid7Generator
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    Anchor,
    AnchorError,
    IndexEntry,
    LogPosition,
    ThreadQuery,
    ThreadRow,
    TurnIndexState,
    TurnSpan,
)
from threadlog.store.ports import IndexStore

PAST_MS = 1_600_000_000_000  # far from "now": no live-write adjustment of updated_at
BAD_IDS = ("../../etc/passwd", "1 OR 1=1", "' OR ''='", "", "01a20ab1-0ea2-7d20-b9b7")


class Clock:
    """A settable clock in Unix milliseconds."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def row_of(thread_id: str, n: int, **changes: Any) -> ThreadRow:
    """A listable row whose fields all differ by ``n``."""
    base = ThreadRow(
        id=thread_id,
        rollout_path=f"/home/sessions/rollout-{n}.jsonl",
        created_at_ms=PAST_MS + n * 1000,
        updated_at_ms=PAST_MS + 500_000 - n * 7,
        source="cli",
        source_kind="cli",
        model_provider="openai",
        cwd="/work",
        title=f"title {n}",
        first_user_message=f"hello {n}",
        cli_version="0.105.0",
        tokens_used=n,
        log_position=LogPosition(100 + n, f"inode:{n}"),
    )
    return msgspec.structs.replace(base, **changes) if changes else base


class IndexStoreContract:
    """Subclass and implement ``make_index``."""

    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        """A fresh, empty index under ``root`` whose time is ``clock_ms``."""
        raise NotImplementedError

    def fresh(self, now_ms: int = PAST_MS + 10**9) -> tuple[IndexStore, Clock]:
        """An index on a new temporary root and the clock it reads."""
        clock = Clock(now_ms)
        root = Path(tempfile.mkdtemp(prefix="threadlog-contract-"))
        return self.make_index(root, clock), clock

    @staticmethod
    def ids(count: int) -> list[str]:
        """``count`` distinct thread ids."""
        gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
        return [gen() for _ in range(count)]

    # --- I1, I5: rows ------------------------------------------------------------------

    def test_i1_i5_rows_read_back_equal_and_are_replaced_whole(self) -> None:
        index, _ = self.fresh()
        [tid] = self.ids(1)
        assert index.get(tid) is None
        row = row_of(tid, 1, name="named", archived=True, archived_at_ms=PAST_MS)
        index.upsert([IndexEntry(row)])
        assert index.get(tid) == row
        newer = row_of(tid, 2)
        index.upsert([IndexEntry(newer)])
        assert index.get(tid) == newer
        assert index.rows() == [newer]

    def test_i1_known_git_facts_are_kept_when_asked(self) -> None:
        index, _ = self.fresh()
        [tid] = self.ids(1)
        index.upsert([IndexEntry(row_of(tid, 1, git_sha="abc", git_branch="main"))])
        index.upsert([IndexEntry(row_of(tid, 2))])
        kept = index.get(tid)
        assert kept is not None and (kept.git_sha, kept.git_branch) == ("abc", "main")
        index.upsert([IndexEntry(row_of(tid, 3))], keep_git=False)
        dropped = index.get(tid)
        assert dropped is not None and dropped.git_sha is None

    def test_i1_dynamic_tools_are_recorded_once_in_order(self) -> None:
        index, _ = self.fresh()
        a, b = self.ids(2)
        tools = [
            DynamicToolSpec(name="lookup", input_schema={"type": "object"}),
            DynamicToolSpec("x"),
        ]
        index.upsert([IndexEntry(row_of(a, 1), tools), IndexEntry(row_of(b, 2))])
        assert index.dynamic_tools(a) == tools
        assert index.dynamic_tools(b) is None
        index.upsert([IndexEntry(row_of(a, 3), [DynamicToolSpec("other")])])
        assert index.dynamic_tools(a) == tools

    def test_i1_delete_and_name_say_whether_there_was_a_row(self) -> None:
        index, _ = self.fresh()
        a, b = self.ids(2)
        index.upsert([IndexEntry(row_of(a, 1))])
        assert index.set_name(a, "renamed") and not index.set_name(b, "ghost")
        row = index.get(a)
        assert row is not None and row.name == "renamed"
        assert index.set_name(a, None)
        cleared = index.get(a)
        assert cleared is not None and cleared.name is None
        assert index.delete(a) and not index.delete(a) and index.get(a) is None

    def test_i7_turn_spans_are_replaced_from_a_position_kept_and_deleted(self) -> None:
        index, _ = self.fresh()
        a, b = self.ids(2)
        spans = [TurnSpan("t1", "", 10, 90, 1), TurnSpan("t2", "/base/log", 90, None, 15)]
        row = msgspec.structs.replace(row_of(a, 1), log_position=LogPosition(500, "inode:7"))
        index.upsert([IndexEntry(row, turns=spans), IndexEntry(row_of(b, 2))])
        state = TurnIndexState(2, 0, LogPosition(500, "inode:7"), spans[1])
        assert index.turn_state(a) == state and index.turn_spans(a) == spans
        assert index.turn_state(b) is None and index.turn_spans(b) == []
        index.upsert([IndexEntry(row_of(a, 3))])  # a row without spans keeps them
        assert index.turn_state(a) == state
        # a resumed fold closes the open span and adds one without an ordinal
        closed = TurnSpan("t2", "/base/log", 90, 120, 15)
        later = TurnSpan("t3", "", 120, 200, None)
        index.upsert([IndexEntry(row_of(a, 4), turns=[closed, later], turns_from=1)])
        assert index.turn_spans(a) == [spans[0], closed, later]
        assert index.turn_state(a) == TurnIndexState(3, 1, LogPosition(104, "inode:4"), later)
        with pytest.raises(ValueError):
            index.upsert([IndexEntry(row_of(a, 5), turns=[later], turns_from=9)])
        assert index.delete(a) and index.turn_state(a) is None and index.turn_spans(a) == []

    @settings(
        max_examples=40,
        deadline=None,
        # each backend's subclass runs it (a fresh index every example)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(st.lists(st.integers(min_value=0, max_value=60), unique=True, max_size=25))
    def test_i7_pages_by_ordinal_walk_every_turn_once(self, ordinals: list[int]) -> None:
        index, _ = self.fresh()
        [tid] = self.ids(1)
        spans = [TurnSpan(f"t{o}", "", o, o + 1, o) for o in sorted(ordinals)]
        index.upsert([IndexEntry(row_of(tid, 1), turns=spans)])
        for newest_first in (True, False):
            walked: list[int] = []
            anchor = None
            while True:
                page = index.turn_page(
                    tid, anchor=anchor, include_anchor=False, limit=3, newest_first=newest_first
                )
                walked += [s.ordinal for s in page if s.ordinal is not None]
                if len(page) < 3:
                    break
                anchor = page[-1].ordinal
            assert walked == sorted(ordinals, reverse=newest_first)
        if ordinals:
            at = sorted(ordinals)[len(ordinals) // 2]
            page = index.turn_page(tid, anchor=at, include_anchor=True, limit=1, newest_first=True)
            assert [s.ordinal for s in page] == [at]

    def test_i1_live_writes_get_unique_increasing_times(self) -> None:
        now = PAST_MS + 10**9
        index, _ = self.fresh(now)
        a, b = self.ids(2)
        index.upsert([IndexEntry(row_of(a, 1, updated_at_ms=now))])
        index.upsert([IndexEntry(row_of(b, 2, updated_at_ms=now))])
        first, second = index.get(a), index.get(b)
        assert first is not None and second is not None
        assert second.updated_at_ms > first.updated_at_ms >= now

    # --- I6: ids are checked, terms are data -------------------------------------------

    @pytest.mark.parametrize("bad", BAD_IDS)
    def test_i6_bad_ids_are_refused(self, bad: str) -> None:
        index, _ = self.fresh()
        for call in (index.get, index.delete, index.dynamic_tools):
            with pytest.raises(ValueError):
                call(bad)
        with pytest.raises(ValueError):
            index.set_name(bad, "x")
        with pytest.raises(ValueError):
            index.upsert([IndexEntry(row_of(bad, 1))])
        with pytest.raises(ValueError):
            index.page(ThreadQuery(anchor=Anchor("created_at", 1, bad)))

    def test_i6_search_terms_are_data(self) -> None:
        index, _ = self.fresh()
        a, b = self.ids(2)
        index.upsert(
            [
                IndexEntry(row_of(a, 1, title="it's 100% done")),
                IndexEntry(row_of(b, 2, title="plain")),
            ]
        )
        for term, expected in (("'", [a]), ("%", [a]), ("' OR 1=1 --", []), ("_", [])):
            assert [r.id for r in index.page(ThreadQuery(search=term)).rows] == expected

    # --- I2, I3: the backfill lease and its checkpoint ---------------------------------

    def test_i2_a_batch_and_its_checkpoint_commit_together(self) -> None:
        index, _ = self.fresh()
        a, b = self.ids(2)
        assert index.claim_backfill(900)
        index.commit_batch([IndexEntry(row_of(a, 1)), IndexEntry(row_of(b, 2))], "2026/03/x")
        state = index.backfill_state()
        assert state.status == "running" and state.last_watermark == "2026/03/x"
        assert {r.id for r in index.rows()} == {a, b}

    def test_i3_one_backfill_at_a_time(self) -> None:
        index, clock = self.fresh()
        assert index.backfill_state().status == "pending"
        assert index.claim_backfill(900)
        assert not index.claim_backfill(900)  # the lease is fresh
        clock.ms += 901_000
        assert index.claim_backfill(900)  # stale: taken over
        index.commit_batch([], "mark-1")
        index.release_backfill()
        released = index.backfill_state()
        assert released.status == "pending" and released.last_watermark == "mark-1"
        assert index.claim_backfill(900)
        index.complete_backfill("mark-2")
        done = index.backfill_state()
        assert done.status == "complete" and done.last_watermark == "mark-2"
        assert done.last_success_at is not None
        clock.ms += 10**7
        assert not index.claim_backfill(0)  # complete is final
        index.reset_backfill()
        reset = index.backfill_state()
        assert reset.status == "pending" and reset.last_watermark is None
        assert index.claim_backfill(900)

    # --- I4: keyset pages ----------------------------------------------------------------

    def test_i4_queries_are_validated_before_they_run(self) -> None:
        index, _ = self.fresh()
        [tid] = self.ids(1)
        with pytest.raises(AnchorError):
            index.page(ThreadQuery(sort_key="updated_at", anchor=Anchor("created_at", 1, tid)))
        for limit in (0, 10_001):
            with pytest.raises(ValueError):
                index.page(ThreadQuery(limit=limit))
        assert index.page(ThreadQuery(source_kinds=())).rows == []

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(
        rows=st.lists(
            st.tuples(
                st.integers(0, 5),  # created second
                st.integers(0, 5),  # updated second
                st.none() | st.integers(0, 5),  # recency second (None: no turn started)
                st.sampled_from(["cli", "exec", "vscode"]),
                st.sampled_from(["openai", "local"]),
                st.sampled_from(["/a", "/b"]),
                st.sampled_from(["fix the bug", "write docs", ""]),
                st.booleans(),
            ),
            max_size=25,
        ),
        sort_key=st.sampled_from(["created_at", "updated_at", "recency_at"]),
        direction=st.sampled_from(["asc", "desc"]),
        limit=st.integers(1, 7),
        filters=st.fixed_dictionaries(
            {
                "archived": st.booleans(),
                "model_providers": st.sampled_from([(), ("openai",), ("local", "openai")]),
                "source_kinds": st.sampled_from([None, ("cli",), ("cli", "exec")]),
                "cwd": st.sampled_from([None, "/a"]),
                "search": st.sampled_from([None, "bug", "o"]),
            }
        ),
    )
    def test_i4_pages_walk_the_listing_once_in_order(
        self,
        rows: list[tuple[int, int, int | None, str, str, str, str, bool]],
        sort_key: Any,
        direction: Any,
        limit: int,
        filters: dict[str, Any],
    ) -> None:
        index, _ = self.fresh()
        ids = self.ids(len(rows))
        stored = [
            row_of(
                tid,
                n,
                created_at_ms=PAST_MS + created * 1000,
                updated_at_ms=PAST_MS + updated * 1000,
                recency_at_ms=None if recency is None else PAST_MS + recency * 1000,
                source=source,
                source_kind=source,
                model_provider=provider,
                cwd=cwd,
                title=title,
                first_user_message=title,
                archived=archived,
            )
            for n, (tid, (created, updated, recency, source, provider, cwd, title, archived)) in (
                enumerate(zip(ids, rows, strict=True))
            )
        ]
        index.upsert([IndexEntry(r) for r in stored])
        query = ThreadQuery(sort_key=sort_key, direction=direction, limit=limit, **filters)
        expected = sorted(
            (r for r in stored if query.matches(r)),
            key=lambda r: (r.sort_value(sort_key), r.id),
            reverse=direction == "desc",
        )
        walked: list[str] = []
        anchor = None
        for _ in range(len(stored) + 2):
            page = index.page(msgspec.structs.replace(query, anchor=anchor))
            assert len(page.rows) <= limit
            walked += [r.id for r in page.rows]
            anchor = page.next_anchor
            if anchor is None:
                break
        assert walked == [r.id for r in expected]
