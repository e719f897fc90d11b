"""The listing contract: ``thread/list`` gives the same pages from an index as from the logs.

The index answers once its backfill is complete; before that (or without one) the logs
themselves are read. Clients must not see the difference, so both paths are held to the
same pages, page by page, and both to ``ThreadQuery``'s meaning of each filter. A backend
pair (a log store and an index store) passes this suite as it passes its port contracts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from threadlog.events.ids import Uuid7Generator
from threadlog.events.rows import IndexEntry
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.listing import ListParams, ListResult, list_page
from threadlog.store.ports import IndexStore, LogRef, LogStore
from threadlog.testing.homes import thread_lines, write_thread

CREATED = datetime(2025, 6, 1, 9, 0, 0)
SOURCES = ("cli", "exec", "vscode", {"subagent": "review"})
PARAMS: tuple[dict[str, Any], ...] = (
    {},
    {"limit": 4},
    {"limit": 3, "sortKey": "updated_at"},
    {"limit": 5, "sortDirection": "asc"},
    {"limit": 2, "sortKey": "updated_at", "sortDirection": "asc"},
    {"limit": 3, "sortKey": "recency_at"},
    {"limit": 4, "sortKey": "recency_at", "sortDirection": "asc", "modelProviders": []},
    {"limit": 4, "sourceKinds": ["exec", "subAgentReview"]},
    {"limit": 3, "modelProviders": ["local"]},
    {"limit": 3, "cwd": "/b"},
    {"limit": 2, "searchTerm": "bug"},
    {"limit": 5, "archived": True, "modelProviders": []},
    {"limit": 100, "sourceKinds": ["cli", "vscode", "exec", "subAgentReview"]},
    {"limit": 100, "modelProviders": []},
    {"limit": 2, "searchTerm": "renamed"},
)


class ListingContract:
    """Subclass and implement ``make_stores`` (and ``settle`` when times need fixing)."""

    def make_stores(self, root: Path, clock_ms: Callable[[], int]) -> tuple[LogStore, IndexStore]:
        """A fresh log store and index store under ``root``, reading time from ``clock_ms``."""
        raise NotImplementedError

    def settle(self, logs: LogStore, ref: LogRef, modified: datetime) -> None:
        """Make the log's modification time ``modified`` (a listing's ``updatedAt``)."""

    def home(self, count: int = 14) -> tuple[LogStore, IndexStore, list[str]]:
        """A home of ``count`` threads of every source, two providers, two cwds, some
        archived, written by threadlog's own writer; returns the stores and the ids."""
        clock_ms = lambda: 1_800_000_000_000  # noqa: E731 - a fixed "now" (2027), after CREATED
        root = Path(tempfile.mkdtemp(prefix="threadlog-listing-"))
        logs, index = self.make_stores(root, clock_ms)
        gen = Uuid7Generator(clock_ms=lambda: 1_748_768_400_000)
        ids = []
        for n in range(count):
            tid = gen()
            created = CREATED + timedelta(seconds=n)
            lines = thread_lines(
                tid,
                created,
                "fix the bug" if n % 3 == 0 else f"task {n}",
                source=SOURCES[n % len(SOURCES)],
                model_provider="local" if n % 3 == 1 else "openai",
                cwd="/b" if n % 5 == 2 else "/a",
            )
            ref = write_thread(logs, tid, created, lines)
            if n in (0, 6):  # a name that search finds (titles do not say "renamed")
                logs.set_name(tid, f"renamed {n}", "2027-01-15T08:00:00.000Z")
            if n % 5 == 4:
                ref = logs.archive(ref)
            # Updated order differs from created order, with ties broken by id.
            self.settle(logs, ref, created + timedelta(seconds=(count - n) // 2 * 10))
            ids.append(tid)
        return logs, index, ids

    @staticmethod
    def walk(logs: LogStore, index: IndexStore | None, params: dict[str, Any]) -> list[list[str]]:
        """Every page of a listing, following its cursors, as lists of ids."""
        pages: list[list[str]] = []
        cursor = None
        for _ in range(50):
            result: ListResult = list_page(
                logs, msgspec.convert({**params, "cursor": cursor}, ListParams), index=index
            )
            pages.append([t.id for t in result.data])
            cursor = result.next_cursor
            if cursor is None:
                return pages
        raise AssertionError("the listing did not end")

    @pytest.mark.parametrize("params", PARAMS, ids=[str(p) for p in PARAMS])
    def test_the_index_and_the_logs_give_the_same_pages(self, params: dict[str, Any]) -> None:
        logs, index, _ = self.home()
        from_logs = self.walk(logs, None, params)
        assert run_backfill(logs, index).claimed
        from_index = self.walk(logs, index, params)
        assert from_index == from_logs
        assert any(from_logs), "every listing of the contract home shows threads"

    def test_the_default_listing_shows_interactive_threads_of_the_default_provider(self) -> None:
        logs, index, ids = self.home()
        run_backfill(logs, index)
        listed = [i for page in self.walk(logs, index, {"limit": 100}) for i in page]
        interactive = [
            tid
            for n, tid in enumerate(ids)
            if SOURCES[n % 4] in ("cli", "vscode") and n % 5 != 4 and n % 3 != 1
        ]
        assert listed == list(reversed(interactive))
        everyone = [i for page in self.walk(logs, index, {"modelProviders": []}) for i in page]
        assert len(everyone) > len(listed)

    def test_a_row_whose_log_vanished_is_dropped_and_deleted(self) -> None:
        logs, index, _ = self.home()
        run_backfill(logs, index)
        params = {"limit": 100}
        [before] = self.walk(logs, index, params)
        row = index.get(before[0])
        assert row is not None
        gone = msgspec.structs.replace(row, rollout_path=row.rollout_path + ".gone")
        index.upsert([IndexEntry(gone)])
        [after] = self.walk(logs, index, params)
        assert after == before[1:] and index.get(before[0]) is None

    def test_names_are_joined_into_both_paths(self) -> None:
        logs, index, ids = self.home()
        logs.set_name(ids[0], "the first", "now")
        by_logs = list_page(logs, ListParams(limit=100), index=None).data
        run_backfill(logs, index)
        by_index = list_page(logs, ListParams(limit=100), index=index).data
        for data in (by_logs, by_index):
            assert {t.id: t.name for t in data}[ids[0]] == "the first"
