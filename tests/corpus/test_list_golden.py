"""Acceptance: walking every page of our thread/list gives the real server's pages."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.corpus.test_read_golden import project_onto, recency_by_window, updated_by_clock
from tests.support.corpus import (
    CODEX_REAL,
    CODEX_REAL_VERSIONS,
    CURRENT_VERSIONS,
    copy_codex_home,
    rewrite_home_prefix,
)
from threadlog.events.ids import uuid7_timestamp_ms
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.listing import ListMetrics, ListParams, list_page
from threadlog.store.codex_config import default_provider
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex


def _variants() -> list[tuple[str, str]]:
    return [
        (version, variant.name)
        for version in CODEX_REAL_VERSIONS
        for variant in sorted((CODEX_REAL / version / "golden" / "thread_list").iterdir())
    ]


def _golden_pages(version: str, variant: str) -> list[dict[str, Any]]:
    folder = CODEX_REAL / version / "golden" / "thread_list" / variant
    return [json.loads(p.read_text()) for p in sorted(folder.glob("page_*.json"))]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {v: copy_codex_home(v, tmp_path_factory.mktemp(v) / "home") for v in CODEX_REAL_VERSIONS}


def compare_walk(
    version: str, golden: list[dict[str, Any]], ours: list[list[dict[str, Any]]], home: Path
) -> None:
    """Our walk of a listing's pages against the real server's."""
    expected = [rewrite_home_prefix(p["result"]["data"], version, home) for p in golden]
    if expected[-1] == [] and len(expected) > 1 and len(ours) == len(expected) - 1:
        # 0.105 gave a cursor after a full last page, so its walk ends on an empty page;
        # 0.171 (and we) give none when nothing follows.
        expected.pop()
    # extra fields are allowed in every era: only the golden's keys are compared
    ours = [project_onto(page, exp) for page, exp in zip(ours, expected, strict=False)]
    assert [len(p) for p in ours] == [len(p) for p in expected]
    if version in CURRENT_VERSIONS:
        compare_current_walk(ours, expected, home, golden[0]["params"].get("sortKey"))
        return
    assert ours == expected


def compare_current_walk(
    ours: list[list[dict[str, Any]]], theirs: list[list[dict[str, Any]]], home: Path, sort: Any
) -> None:
    """A 0.171 walk: the same threads with the same fields, in the same order up to ties.

    0.171 answers a listing from one of several query paths (rollout files, its state DB,
    search), and they disagree in ways it does not show: threads of the same second come
    in id order or in millisecond order, also across a page break, and a thread whose meta
    is stamped a second after its UUIDv7 id is dated by the one or the other. We always date
    by the meta (the seed-era rule) and order by that second, then id. So each thread must
    equal the server's (its ``createdAt`` may be its id's second), and the walk's order may
    differ only between threads less than two seconds apart.
    """
    our_rows = [row for page in ours for row in page]
    their_rows = {row["id"]: row for page in theirs for row in page}
    assert [r["id"] for r in our_rows if r["id"] not in their_rows] == []
    assert len(our_rows) == len(their_rows)
    for row in our_rows:
        expected = their_rows[row["id"]]
        recency_by_window(row, expected, home)
        updated_by_clock(row, expected)
        if expected["createdAt"] == uuid7_timestamp_ms(row["id"]) // 1000:
            row["createdAt"] = expected["createdAt"]
        assert row == expected
    key = "updatedAt" if sort == "updated_at" else "createdAt"
    their_order = [row["id"] for page in theirs for row in page]
    position = {tid: n for n, tid in enumerate(their_order)}
    for a, b in itertools.pairwise(our_rows):
        if position[a["id"]] > position[b["id"]]:
            assert abs(a[key] - b[key]) <= 1, (a["id"], b["id"])


def _walk(home: Path, params: dict[str, Any], db: SqliteIndex | None) -> list[list[dict[str, Any]]]:
    pages = []
    base = {k: v for k, v in params.items() if k != "cursor"}
    cursor = None
    for _ in range(100):
        result = list_page(
            FileLogStore(home),
            msgspec.convert({**base, "cursor": cursor}, ListParams),
            index=db,
            default_provider=default_provider(home),
        )
        pages.append(msgspec.to_builtins(result.data))
        cursor = result.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("source", ["files", "index"])
@pytest.mark.parametrize(("version", "variant"), _variants())
def test_pages_match_the_real_server(
    homes: dict[str, Path], tmp_path: Path, version: str, variant: str, source: str
) -> None:
    home = homes[version]
    db = None
    if source == "index":
        db = SqliteIndex.open(tmp_path / "threadlog.sqlite")
        assert run_backfill(FileLogStore(home), db).claimed
    golden = _golden_pages(version, variant)
    ours = _walk(home, golden[0]["params"], db)
    compare_walk(version, golden, ours, home)


def test_index_drops_rows_whose_file_vanished(homes: dict[str, Path], tmp_path: Path) -> None:
    home = copy_codex_home("0.105.0", tmp_path / "home")
    db = SqliteIndex.open(tmp_path / "threadlog.sqlite")
    run_backfill(FileLogStore(home), db)
    exec_threads = ListParams(limit=5, source_kinds=["exec"], model_providers=[])
    first = list_page(FileLogStore(home), exec_threads, index=db).data
    victim = Path(first[1].path or "")
    victim.unlink()
    metrics = ListMetrics()
    again = list_page(FileLogStore(home), exec_threads, index=db, metrics=metrics)
    assert [t.id for t in again.data] == [first[0].id, *[t.id for t in first[2:]]]
    assert metrics.stale_rows_dropped == 1 and metrics.db_pages == 1
    assert db.get(first[1].id) is None
