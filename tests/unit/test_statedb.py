"""The state DB: migrations, writes, keyset listing, the lease, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import apsw
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.sqlite_files import DAMAGES, damage_file
from threadlog.events.ids import Uuid7Generator
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    Anchor,
    AnchorError,
    IndexEntry,
    LogPosition,
    ThreadQuery,
    ThreadRow,
)
from threadlog.store.lease import (
    checkpoint_backfill,
    get_backfill_state,
    mark_backfill_complete,
    reset_backfill,
    try_claim_backfill,
)
from threadlog.store.schema import LATEST_VERSION, MIGRATIONS
from threadlog.store.statedb import SchemaTooNewError, StateDb
from threadlog.store.thread_listing import build_list_sql, page_threads

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
NOW = 1_800_000_000_000


class Clock:
    def __init__(self, ms: int = NOW) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def make_row(tid: str, n: int, **kw: object) -> ThreadRow:
    base = {
        "id": tid,
        "rollout_path": f"/h/sessions/{tid}.jsonl",
        "created_at_ms": 1_000_000 + n,
        "updated_at_ms": 2_000_000 + n,
        "first_user_message": f"hello {n}",
        "title": f"hello {n}",
        "source": "cli",
        "source_kind": "cli",
        "model_provider": "openai",
        "cwd": "/w",
    }
    base.update(kw)
    return ThreadRow(**base)  # type: ignore[arg-type]


@pytest.fixture
def ids() -> Uuid7Generator:
    return Uuid7Generator(clock_ms=lambda: NOW)


@pytest.fixture
def db(tmp_path: Path) -> StateDb:
    return StateDb.for_home(tmp_path, clock_ms=Clock())


def test_fresh_db_is_at_latest_version_wal_and_private(db: StateDb, tmp_path: Path) -> None:
    assert db.user_version() == LATEST_VERSION
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.query("PRAGMA foreign_keys")[0][0] == 1
    assert (tmp_path / "threadlog.sqlite").stat().st_mode & 0o777 == 0o600


def test_refuses_codex_databases(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Codex"):
        StateDb(tmp_path / "state_5.sqlite")


@pytest.mark.parametrize("start", range(LATEST_VERSION))
def test_migrates_from_every_earlier_version_keeping_data(tmp_path: Path, start: int) -> None:
    path = tmp_path / "threadlog.sqlite"
    conn = apsw.Connection(str(path))
    for version in range(start):
        conn.execute(MIGRATIONS[version])
    conn.execute(f"PRAGMA user_version = {start}")
    tid = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
    if start >= 1:
        conn.execute(
            "INSERT INTO threads (id, rollout_path, created_at_ms, updated_at_ms, title, "
            "first_user_message) VALUES (?, '/p', 5, 6, 't', 'first')",
            (tid,),
        )
    conn.close()
    db = StateDb(path)
    assert db.user_version() == LATEST_VERSION
    if start >= 1:
        row = db.get_thread(tid)
        assert row is not None
        assert (row.title, row.first_user_message, row.created_at_ms) == ("t", "first", 5)
        assert row.log_position == LogPosition()
        assert page_threads(db, ThreadQuery(source_kinds=None)).rows == [row]


def test_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "threadlog.sqlite"
    conn = apsw.Connection(str(path))
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer than this threadlog"):
        StateDb(path)


def test_upsert_get_archive_name_delete(db: StateDb, ids: Uuid7Generator) -> None:
    tid = ids()
    row = make_row(tid, 1, git_sha="abc", git_branch="main")
    db.upsert_thread(row)
    assert db.get_thread(tid) == row
    # a later extraction without git keeps the git info already stored
    db.upsert_thread(msgspec.structs.replace(row, git_sha=None, git_branch=None, tokens_used=7))
    stored = db.get_thread(tid)
    assert stored is not None and stored.git_sha == "abc" and stored.tokens_used == 7
    db.mark_archived(tid, "/h/archived_sessions/x.jsonl", updated_at_ms=9)
    stored = db.get_thread(tid)
    assert stored is not None and stored.archived and stored.archived_at_ms == NOW
    db.mark_unarchived(tid, "/h/sessions/x.jsonl", updated_at_ms=10)
    stored = db.get_thread(tid)
    assert stored is not None and not stored.archived and stored.archived_at_ms is None
    assert db.set_name(tid, "named")
    assert db.get_thread(tid).name == "named"  # type: ignore[union-attr]
    assert db.delete_thread(tid)
    assert db.get_thread(tid) is None
    assert not db.delete_thread(tid)


def test_dynamic_tools_are_written_once_in_order(db: StateDb, ids: Uuid7Generator) -> None:
    tid = ids()
    tools = [
        DynamicToolSpec(name="b", description="second?", input_schema={"type": "object"}),
        DynamicToolSpec(name="a", description="", input_schema=None, defer_loading=True),
    ]
    db.upsert_thread(make_row(tid, 1), tools)
    db.upsert_thread(make_row(tid, 1), [DynamicToolSpec(name="other")])
    assert db.get_dynamic_tools(tid) == tools
    assert db.get_dynamic_tools(ids()) is None
    db.delete_thread(tid)
    assert db.get_dynamic_tools(tid) is None  # cascaded


def test_live_writes_get_unique_increasing_milliseconds(db: StateDb, ids: Uuid7Generator) -> None:
    tids = [ids() for _ in range(5)]
    stamps = []
    for tid in tids:
        stored = db.upsert_thread(make_row(tid, 0, updated_at_ms=NOW))
        stamps.append(stored.updated_at_ms)
    stamps += [db.touch_updated_at(tids[0]) for _ in range(5)]  # type: ignore[misc]
    assert stamps == sorted(set(stamps)) and stamps[0] == NOW and len(stamps) == 10
    # an old (backfill) time is kept as it is
    old = db.upsert_thread(make_row(ids(), 0, updated_at_ms=NOW - 60_000))
    assert old.updated_at_ms == NOW - 60_000
    assert db.touch_updated_at(ids()) is None


def test_unique_updated_at_across_threads_and_processes(
    tmp_path: Path, ids: Uuid7Generator
) -> None:
    path = tmp_path / "threadlog.sqlite"
    db = StateDb(path)
    tid = ids()
    db.upsert_thread(make_row(tid, 0))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.updated_at_child", str(path), tid, "40"],
            stdout=subprocess.PIPE,
            env=ENV,
            cwd=REPO,
        )
        for _ in range(3)
    ]
    local: list[int] = []

    def touch() -> None:
        for _ in range(40):
            stamp = db.touch_updated_at(tid)
            assert stamp is not None
            local.append(stamp)

    workers = [threading.Thread(target=touch) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stamps = list(local)
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        stamps += [int(s) for s in out.split()]
    assert len(stamps) == 240
    assert len(set(stamps)) == 240


def test_keyset_listing_filters(db: StateDb, ids: Uuid7Generator) -> None:
    rows = [
        make_row(ids(), 1),
        make_row(ids(), 2, source="exec", source_kind="exec"),
        make_row(ids(), 3, model_provider="mock"),
        make_row(ids(), 4, cwd="/other"),
        make_row(ids(), 5, first_user_message="", title=""),
        make_row(ids(), 6, archived=True),
        make_row(ids(), 7, title="50% off_sale", first_user_message="50% off_sale"),
    ]
    db.upsert_records([IndexEntry(r) for r in rows])

    def ids_of(**kw: object) -> list[str]:
        return [r.id for r in page_threads(db, ThreadQuery(**kw)).rows]  # type: ignore[arg-type]

    everyone = [r.id for r in reversed(rows) if r.first_user_message and not r.archived]
    assert ids_of() == everyone
    assert ids_of(source_kinds=("cli", "vscode")) == [i for i in everyone if i != rows[1].id]
    assert ids_of(model_providers=("mock",)) == [rows[2].id]
    assert ids_of(cwd="/other") == [rows[3].id]
    assert ids_of(archived=True) == [rows[5].id]
    assert ids_of(search="% off_") == [rows[6].id]
    assert ids_of(search="%") == [rows[6].id]
    assert ids_of(search="_") == [rows[6].id]
    assert ids_of(search="'; DROP TABLE threads; --") == []
    assert ids_of(source_kinds=()) == []
    assert len(ids_of()) == 5  # the table survived the search


def test_anchor_from_another_sort_key_is_refused(db: StateDb, ids: Uuid7Generator) -> None:
    anchor = Anchor("created_at", 5, ids())
    with pytest.raises(AnchorError):
        page_threads(db, ThreadQuery(sort_key="updated_at", anchor=anchor))
    with pytest.raises(ValueError, match="invalid thread id"):
        page_threads(db, ThreadQuery(anchor=Anchor("created_at", 5, "1 OR 1=1")))


@pytest.mark.parametrize("bad", ["", "x", "../x", "1' OR '1'='1"])
def test_malformed_ids_are_refused_before_sql(db: StateDb, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid thread id"):
        db.get_thread(bad)
    with pytest.raises(ValueError, match="invalid thread id"):
        db.upsert_thread(make_row(bad, 1))


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=40),
    limit=st.integers(min_value=1, max_value=7),
    key=st.sampled_from(["created_at", "updated_at"]),
    direction=st.sampled_from(["asc", "desc"]),
)
def test_paging_walks_every_row_once_in_order(
    tmp_path_factory: pytest.TempPathFactory,
    values: list[int],
    limit: int,
    key: str,
    direction: str,
) -> None:
    db = StateDb.for_home(tmp_path_factory.mktemp("db"), clock_ms=Clock())
    gen = Uuid7Generator(clock_ms=lambda: NOW)
    rows = [
        make_row(gen(), 0, created_at_ms=v, updated_at_ms=1000 + v) for v in values
    ]  # many ties in the sort value
    db.upsert_records([IndexEntry(r) for r in rows])
    seen: list[str] = []
    anchor = None
    while True:
        page = page_threads(
            db,
            ThreadQuery(sort_key=key, direction=direction, limit=limit, anchor=anchor),  # type: ignore[arg-type]
        )
        seen += [r.id for r in page.rows]
        assert len(page.rows) <= limit
        if page.next_anchor is None:
            break
        anchor = page.next_anchor
    column = "created_at_ms" if key == "created_at" else "updated_at_ms"
    expected = sorted(rows, key=lambda r: (getattr(r, column), r.id), reverse=direction == "desc")
    assert seen == [r.id for r in expected]
    db.close()


@pytest.mark.parametrize("key", ["created_at", "updated_at", "recency_at"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("with_anchor", [False, True])
def test_default_listings_use_an_index_without_sorting(
    db: StateDb, key: str, direction: str, with_anchor: bool
) -> None:
    anchor = Anchor(key, 5, "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c") if with_anchor else None  # type: ignore[arg-type]
    for kinds in (("cli", "vscode"), None):
        query = ThreadQuery(sort_key=key, direction=direction, anchor=anchor, source_kinds=kinds)  # type: ignore[arg-type]
        sql, args = build_list_sql(query)
        plan = " | ".join(row[3] for row in db.query("EXPLAIN QUERY PLAN " + sql, args))
        assert "USING INDEX idx_threads_list" in plan, plan
        assert "SCAN threads" not in plan and "TEMP B-TREE" not in plan, plan


# --- the lease ------------------------------------------------------------------------


def test_lease_states(tmp_path: Path) -> None:
    clock = Clock()
    db = StateDb.for_home(tmp_path, clock_ms=clock)
    assert get_backfill_state(db).status == "pending"
    assert try_claim_backfill(db, lease_seconds=900)
    assert not try_claim_backfill(db, lease_seconds=900)  # fresh lease
    clock.ms += 600_000
    checkpoint_backfill(db, "sessions/2026/01/01/a.jsonl")  # renews
    clock.ms += 600_000
    assert not try_claim_backfill(db, lease_seconds=900)
    clock.ms += 301_000
    assert try_claim_backfill(db, lease_seconds=900)  # stale: taken over
    state = get_backfill_state(db)
    assert state.last_watermark == "sessions/2026/01/01/a.jsonl"
    mark_backfill_complete(db)
    state = get_backfill_state(db)
    assert state.status == "complete" and state.last_success_at == clock.ms // 1000
    assert state.last_watermark == "sessions/2026/01/01/a.jsonl"
    clock.ms += 10**9
    assert not try_claim_backfill(db, lease_seconds=1)  # complete is final
    reset_backfill(db)
    state = get_backfill_state(db)
    assert state.status == "pending" and state.last_watermark is None
    assert try_claim_backfill(db, lease_seconds=900)


def test_eight_processes_race_for_the_lease_and_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "threadlog.sqlite"
    StateDb(path).close()
    start = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.lease_child", str(path), str(start)],
            stdout=subprocess.PIPE,
            env=ENV,
            cwd=REPO,
            text=True,
        )
        for _ in range(8)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    start.touch()
    results = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert sorted(results) == ["claimed"] + ["refused"] * 7


# --- search through the trigram index ---------------------------------------------------

WORDS = ("alpha", "Beta", "gamma", "δέλτα", 'quo"te', "x", "ab")


def _scan(rows: dict[str, tuple[str, str | None]], term: str) -> set[str]:
    """What instr (today's meaning) finds: a case-sensitive substring of title or name."""
    return {tid for tid, (title, name) in rows.items() if term in title or term in (name or "")}


@given(
    st.lists(st.tuples(st.lists(st.sampled_from(WORDS), max_size=4), st.booleans()), max_size=12),
    st.sampled_from(["alp", "lpha B", "Beta", "beta", "δέλ", 'o"t', "xab", "ab", "x", "zzz", " g"]),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_search_finds_exactly_what_a_scan_finds(
    tmp_path_factory: pytest.TempPathFactory, docs: list[tuple[list[str], bool]], term: str
) -> None:
    db = StateDb.for_home(tmp_path_factory.mktemp("search"), clock_ms=Clock())
    gen = Uuid7Generator(clock_ms=lambda: NOW)
    rows: dict[str, tuple[str, str | None]] = {}
    for n, (words, named) in enumerate(docs):
        tid = gen()
        title = " ".join(words) or "t"
        name = " ".join(reversed(words)) + " named" if named else None
        db.upsert_thread(make_row(tid, n, title=title, first_user_message=title))
        if named:
            db.set_name(tid, name)
        rows[tid] = (title, name)
    # a rename and a delete keep the index in step
    if rows:
        first = next(iter(rows))
        db.set_name(first, "renamed alpha")
        rows[first] = (rows[first][0], "renamed alpha")
        last = list(rows)[-1]
        if last != first:
            db.delete_thread(last)
            del rows[last]
    page = page_threads(db, ThreadQuery(search=term, limit=100))
    assert {r.id for r in page.rows} == _scan(rows, term)
    db.close()


@pytest.mark.parametrize("rare", [True, False])
def test_a_search_page_is_served_by_the_trigram_index(db: StateDb, rare: bool) -> None:
    query = ThreadQuery(search="hello", limit=25)
    sql, args = build_list_sql(query, rare=rare)
    plan = " | ".join(row[3] for row in db.query("EXPLAIN QUERY PLAN " + sql, args))
    if rare:  # the trigram index finds the matches, looked up by rowid, then sorted
        assert "VIRTUAL TABLE INDEX" in plan and "threads_search" in plan, plan
        assert "USING INTEGER PRIMARY KEY" in plan, plan
    else:  # the listing index is walked in order, keeping the matches
        assert "USING INDEX idx_threads_list" in plan and "TEMP B-TREE" not in plan, plan
        assert "threads_search" not in plan and "instr(" in sql
    short = build_list_sql(ThreadQuery(search="he", limit=25))[0]
    assert "instr(" in short and "threads_search" not in short  # too short for trigrams


def test_the_columns_are_the_row_fields_in_order() -> None:
    """``row_from_sql`` builds rows positionally: the columns must stay the fields' order."""
    from threadlog.events.rows import ThreadRow
    from threadlog.store.row_sql import COLUMNS

    assert ThreadRow.__struct_fields__ == (*COLUMNS[:-2], "log_position")
    assert COLUMNS[-2:] == ("log_offset", "log_identity")


def test_a_scratch_database_keeps_no_wal_and_opens_as_any_other(
    tmp_path: Path, ids: Uuid7Generator
) -> None:
    """Replay's scratch file: no WAL beside it while written, whole once closed."""
    path = tmp_path / "index.sqlite.replay-1"
    scratch = StateDb(path, clock_ms=Clock(), scratch=True)
    rows = [make_row(ids(), n) for n in range(3)]
    scratch.upsert_records([IndexEntry(r) for r in rows])
    assert not Path(f"{path}-wal").exists()
    scratch.close()
    reopened = StateDb(path, clock_ms=Clock())
    try:
        assert reopened.query("PRAGMA journal_mode") == [("wal",)]
        assert sorted(r.id for r in reopened.all_rows()) == sorted(r.id for r in rows)
    finally:
        reopened.close()


@pytest.mark.parametrize("damage", ["none", *DAMAGES])
def test_overwriting_a_database_gives_its_source_whatever_state_it_was_in(
    tmp_path: Path, ids: Uuid7Generator, damage: str
) -> None:
    """Replay's swap skips the target's check (it overwrites every page): a damaged
    target still ends up an exact, sound copy of the source."""
    source = StateDb(tmp_path / "source.sqlite", clock_ms=Clock())
    rows = [make_row(ids(), n) for n in range(300)]
    source.upsert_records([IndexEntry(r) for r in rows])
    source.close()
    target_path = tmp_path / "index.sqlite"
    target = StateDb(target_path, clock_ms=Clock())
    target.upsert_records([IndexEntry(make_row(ids(), n)) for n in range(600)])
    target.close()
    if damage != "none":
        damage_file(target_path, damage)
    StateDb.overwrite_with(target_path, tmp_path / "source.sqlite")
    # opened with its check: a damaged copy would be moved aside, and its rows gone
    copied = StateDb(target_path, clock_ms=Clock())
    try:
        assert copied.query("PRAGMA quick_check") == [("ok",)]
        assert sorted(r.id for r in copied.all_rows()) == sorted(r.id for r in rows)
    finally:
        copied.close()
