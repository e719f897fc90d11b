"""A batch of threads the state DB has never seen goes in a table at a time
(``store/bulk_insert.py``): it must store exactly what the row-at-a-time upsert stores,
whatever the batch mixes in (threads already there, a thread twice, live writes, upper-case
ids, spans with and without ordinals, tools, a fold's unknown turns)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import apsw
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.sqlite_files import INDEX_TABLES, dump_tables
from tests.unit.test_statedb import NOW, Clock, make_row
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import IndexEntry, LogPosition, TurnSpan
from threadlog.store import statedb
from threadlog.store.statedb import StateDb

POOL = [f"019ca945-0a00-7{n:03x}-8000-00000000{n:04x}" for n in range(6)]


spans = st.lists(
    st.builds(
        TurnSpan,
        turn_id=st.sampled_from(["t1", "t2", "t3"]),
        log_location=st.just("own"),
        start_offset=st.integers(0, 10**6),
        end_offset=st.none() | st.integers(0, 10**6),
        ordinal=st.none() | st.integers(0, 100),
    ),
    max_size=4,
)
tools = st.lists(
    st.builds(
        DynamicToolSpec,
        name=st.sampled_from(["a", "b"]),
        description=st.text(max_size=5),
        input_schema=st.just({"type": "object"}),
        defer_loading=st.booleans(),
    ),
    max_size=2,
)


@st.composite
def records(draw: st.DrawFn) -> IndexEntry:
    n = draw(st.integers(0, len(POOL) - 1))
    tid = POOL[n].upper() if draw(st.booleans()) else POOL[n]
    live = draw(st.booleans())
    row = make_row(
        tid,
        draw(st.integers(0, 50)),
        updated_at_ms=NOW - 10 if live else 2_000_000 + draw(st.integers(0, 9)),
        git_sha=draw(st.none() | st.just("abc")),
        log_position=LogPosition(draw(st.integers(0, 999)), "i1"),
    )
    return IndexEntry(row, draw(tools), draw(st.none() | spans))


_TOOL = DynamicToolSpec("a", "d", {"type": "object"})
_SPANS = [TurnSpan("t1", "own", 0, 10), TurnSpan("t2", "own", 10, None, 3)]


@settings(max_examples=100, deadline=None)
@example(  # one of each: new with tools and spans, there already, twice in the batch
    before=[IndexEntry(make_row(POOL[2], 2), [_TOOL], _SPANS[:1])],
    batch=[
        IndexEntry(make_row(POOL[1], 1), [_TOOL], _SPANS),
        IndexEntry(make_row(POOL[2], 3), [], _SPANS),
        IndexEntry(make_row(POOL[1].upper(), 4), [_TOOL, _TOOL], _SPANS[1:]),
    ],
)
@given(st.lists(records(), max_size=4), st.lists(records(), min_size=1, max_size=8))
def test_a_batch_stores_what_one_row_at_a_time_stores(
    before: list[IndexEntry], batch: list[IndexEntry]
) -> None:
    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        root = Path(name)
        for label in ("bulk", "rows"):
            db = StateDb(root / f"{label}.sqlite", clock_ms=Clock())
            try:
                db.upsert_records(before)
                if label == "rows":  # nothing is absent: every thread goes through the upsert
                    patch.setattr(statedb, "absent_ids", lambda conn, ids: set())
                db.upsert_records(batch)
            finally:
                db.close()
        assert dump_tables(root / "bulk.sqlite") == dump_tables(root / "rows.sqlite")


def test_new_threads_of_a_batch_are_inserted_a_table_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = StateDb(tmp_path / "index.sqlite", clock_ms=Clock())
    db.upsert_records([IndexEntry(make_row(POOL[0], 0))])
    written: list[str] = []
    monkeypatch.setattr(
        statedb, "insert_absent", lambda conn, run: written.extend(r.row.id for r in run)
    )
    span = TurnSpan("t1", "own", 0, 10)
    db.upsert_records(
        [IndexEntry(make_row(tid, n), turns=[span]) for n, tid in enumerate(POOL[:3])]
    )
    assert written == POOL[1:3]  # the thread already there went through the upsert
    db.close()


def test_no_thread_s_rows_outlive_or_precede_its_row(tmp_path: Path) -> None:
    """What ``absent_ids`` relies on: the other tables' rows need the thread's row."""
    db = StateDb(tmp_path / "index.sqlite", clock_ms=Clock())
    try:
        with pytest.raises(apsw.ConstraintError), db.transaction() as conn:
            conn.execute(
                "INSERT INTO thread_turns_state (thread_id, turn_count, unordered, log_offset, "
                "log_identity) VALUES (?, 0, 0, 0, '')",
                (POOL[0],),
            )
        span = TurnSpan("t1", "own", 0, 10)
        db.upsert_records([IndexEntry(make_row(POOL[1], 1), [_TOOL], [span])])
        with db.transaction() as conn:
            conn.execute("DELETE FROM threads WHERE id = ?", (POOL[1],))
        left = [db.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in INDEX_TABLES]
        assert left == [0, 0, 0, 0]
    finally:
        db.close()
