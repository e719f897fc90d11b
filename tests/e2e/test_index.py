"""Keeping the index true: incremental indexing, backfill crashes and races, replay, doctor."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import apsw
import pytest

from tests.support.homes import make_home
from threadlog.events import RolloutLine, encode_line
from threadlog.events.event_msgs import TokenCount, TokenUsage, TokenUsageInfo, UserMessage
from threadlog.projections.index.backfill import pending_logs
from threadlog.projections.index.backfill import run_backfill as backfill_logs
from threadlog.projections.index.doctor import doctor as doctor_logs
from threadlog.projections.index.indexer import IndexOutcome, extract_log, sync_log
from threadlog.projections.index.listing import ListParams
from threadlog.projections.index.listing import list_page as list_logs
from threadlog.projections.index.replay import replay
from threadlog.store.appender import RolloutAppender
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _home_of(path: Path) -> Path:
    return path.parents[4] if path.parents[3].name == "sessions" else path.parents[1]


def sync_file(index: SqliteIndex, path: Path) -> IndexOutcome:
    logs = FileLogStore(_home_of(path))
    return sync_log(index, logs, logs.ref_of(path))


def extract_file(path: Path) -> IndexOutcome:
    logs = FileLogStore(_home_of(path))
    return extract_log(logs, logs.ref_of(path))


def run_backfill(home: Path, index: SqliteIndex, **kwargs: Any) -> Any:
    return backfill_logs(FileLogStore(home), index, **kwargs)


def doctor(home: Path, index: SqliteIndex, **kwargs: Any) -> Any:
    return doctor_logs(FileLogStore(home), index, **kwargs)


def _session_members(session: int) -> set[int]:
    """Live processes of a session (by /proc: zombies count as gone)."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended while we looked
        if fields[0] != "Z" and int(fields[3]) == session:
            members.add(int(stat.parent.name))
    return members


def _wait_for_empty_session(session: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while (left := _session_members(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left behind: {left}"


def _tokens(total: int) -> bytes:
    usage = TokenUsageInfo(total_token_usage=TokenUsage(total_tokens=total))
    return encode_line(RolloutLine("2026-03-01T12:00:00.000Z", TokenCount(info=usage)))


def test_a_grown_file_is_read_from_where_the_index_stopped(tmp_path: Path) -> None:
    [path] = make_home(tmp_path, 1)
    db = SqliteIndex.for_home(tmp_path)
    first = sync_file(db, path)
    assert first.entry is not None and not first.resumed
    row = db.get(first.entry.row.id)
    assert (
        row is not None and row.log_position.offset == path.stat().st_size and row.tokens_used == 10
    )
    assert sync_file(db, path).unchanged
    with RolloutAppender(path) as appender:
        appender.append([_tokens(500), _tokens(700)])
    grown = sync_file(db, path)
    assert grown.resumed and grown.scan is not None and grown.scan.lines == 2
    row = db.get(row.id)
    assert (
        row is not None
        and row.tokens_used == 700
        and row.log_position.offset == path.stat().st_size
    )
    assert row.first_user_message == "thread 0 #0"  # kept from the first read


def test_a_shrunk_or_replaced_file_is_read_whole(tmp_path: Path) -> None:
    [path] = make_home(tmp_path, 1)
    db = SqliteIndex.for_home(tmp_path)
    sync_file(db, path)
    content = path.read_bytes()
    path.write_bytes(content[: content.index(b"\n") + 1])  # only the meta remains
    shrunk = sync_file(db, path)
    assert not shrunk.resumed and shrunk.entry is not None
    assert shrunk.entry.row.first_user_message == ""
    replacement = path.with_name(path.name + ".new")
    replacement.write_bytes(content.replace(b"thread 0 #0", b"other 0 #0"))
    os.replace(replacement, path)  # same name, another inode
    replaced = sync_file(db, path)
    assert not replaced.resumed and replaced.entry is not None
    assert replaced.entry.row.first_user_message == "other 0 #0"


def test_bad_files_are_counted_and_do_not_stop_the_run(tmp_path: Path) -> None:
    paths = make_home(tmp_path, 3)
    no_meta = paths[0]
    no_meta.write_bytes(no_meta.read_bytes().split(b"\n", 1)[1])
    with paths[1].open("ab") as stream:
        stream.write(b'{"timestamp":"x","type":"session_meta","payload":{"broken\n')
    db = SqliteIndex.for_home(tmp_path)
    stats = run_backfill(tmp_path, db)
    assert stats.claimed and stats.files == 3 and stats.threads == 2
    assert stats.errors == 1 and stats.error_files[0].reason == "no session_meta"
    assert stats.bad_lines == 1
    assert db.backfill_state().status == "complete"
    assert extract_file(no_meta).error == "no session_meta"


def test_backfill_resumes_after_sigkill_without_redoing_committed_batches(tmp_path: Path) -> None:
    total = 600
    make_home(tmp_path, total)
    rng = random.Random(7)
    for trial in range(3):
        home = tmp_path if trial == 0 else tmp_path / f"copy{trial}"
        if trial:
            home.mkdir()
            make_home(home, total)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.backfill_child", str(home)],
            stdout=subprocess.PIPE,
            env=ENV,
            cwd=REPO,
            text=True,
            start_new_session=True,  # its worker processes are in its session
        )
        assert child.stdout is not None
        wanted = rng.randint(1, 8)
        seen = 0
        for line in child.stdout:
            if line.startswith("checkpoint"):
                seen += 1
                if seen >= wanted:
                    break
        assert _session_members(child.pid) - {child.pid}  # the workers are there
        child.send_signal(signal.SIGKILL)
        child.wait()
        _wait_for_empty_session(child.pid)  # and go with it: none is left behind
        db = SqliteIndex.for_home(home)
        state = db.backfill_state()
        assert state.status in ("running", "complete")
        committed = {row.id for row in db.rows()}
        remaining = list(pending_logs(FileLogStore(home), state.last_watermark))
        assert len(committed) + len(remaining) == total  # the checkpoint and rows agree
        resumed = run_backfill(home, db, lease_seconds=0) if state.status == "running" else None
        if resumed is not None:
            assert resumed.claimed and resumed.files == len(remaining)
        assert len(db.rows()) == total
        assert db.backfill_state().status == "complete"
        db.close()


def test_two_backfill_processes_one_claims(tmp_path: Path) -> None:
    make_home(tmp_path, 400)
    SqliteIndex.for_home(tmp_path).close()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadlog.actors.cli.main",
                "backfill",
                "--home",
                str(tmp_path),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=ENV,
            cwd=REPO,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(o["claimed"] for o in outs) == [False, True]
    winner = next(o for o in outs if o["claimed"])
    assert winner["threads"] == 400 and winner["errors"] == 0
    assert set(winner) == {"claimed", "files", "threads", "bad_lines", "errors", "seconds"}
    db = SqliteIndex.for_home(tmp_path)
    assert len(db.rows()) == 400


def test_replay_then_doctor_is_clean_and_a_deleted_file_is_repaired(tmp_path: Path) -> None:
    paths = make_home(tmp_path, 30)
    db_path = tmp_path / "threadlog.sqlite"
    stats = replay(tmp_path, db_path)
    assert stats.threads == 30
    db = SqliteIndex.open(db_path)
    assert doctor(tmp_path, db).clean
    victim = paths[5]
    victim.unlink()
    found = doctor(tmp_path, db)
    assert not found.clean and len(found.missing_files) == 1
    page = list_logs(FileLogStore(tmp_path), ListParams(limit=100, source_kinds=["cli"]), index=db)
    assert len(page.data) == 29  # the listing drops (and deletes) the stale row
    assert doctor(tmp_path, db).clean
    with RolloutAppender(paths[6]) as appender:
        appender.append([_tokens(99)])
    with paths[7].open("ab") as stream:
        stream.write(b'{"torn')
    (
        tmp_path
        / "sessions"
        / "2026"
        / "03"
        / "01"
        / "rollout-2026-03-01T00-00-00-01a20ab1-0ea2-7d20-b9b7-cee0ff50827c.jsonl"
    ).write_bytes(
        b"".join(paths[8].read_bytes().splitlines(keepends=True)[:1]).replace(
            paths[8].name[-41:-6].encode(), b"01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
        )
    )
    found = doctor(tmp_path, db)
    assert found.stale_rows and found.torn_tails and found.unindexed_files
    fixed = doctor(tmp_path, db, fix=True)
    kinds = sorted(action.split(" ")[0] for action in fixed.repaired)
    assert kinds == ["healed", "indexed", "re-indexed", "re-indexed"], fixed.repaired
    assert not (fixed.stale_rows or fixed.torn_tails or fixed.unindexed_files)
    # The healed fragment stays on disk as one reported line: never deleted, never clean.
    assert [issue.path for issue in fixed.bad_lines] == [str(paths[7])]
    assert not fixed.clean


def test_replay_swaps_atomically_under_a_reader(tmp_path: Path) -> None:
    make_home(tmp_path, 20)
    db_path = tmp_path / "threadlog.sqlite"
    replay(tmp_path, db_path)
    reader = SqliteIndex.open(db_path)
    before = {r.id for r in reader.rows()}
    make_home(tmp_path / "more", 0)
    extra = make_home(tmp_path, 5, seed_ms=1_772_366_500_000)
    replay(tmp_path, db_path)
    after = {r.id for r in reader.rows()}  # the same open connection sees the new index
    assert before < after and len(after - before) == len(extra)
    assert not list(tmp_path.glob("threadlog.sqlite.replay-*"))


def test_user_message_events_after_the_first_do_not_change_the_preview(tmp_path: Path) -> None:
    [path] = make_home(tmp_path, 1)
    with RolloutAppender(path) as appender:
        appender.append(
            encode_line(RolloutLine("2026-03-01T12:00:00.000Z", UserMessage(message="later")))
        )
    outcome = extract_file(path)
    assert outcome.entry is not None and outcome.entry.row.first_user_message == "thread 0 #0"


@pytest.mark.parametrize(
    "cursor", ["nope", "tl1.bad", "2026-11-23T23:16:08Z|01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"]
)
def test_list_refuses_bad_cursors_with_exit_2(tmp_path: Path, cursor: str) -> None:
    make_home(tmp_path, 2)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadlog.actors.cli.main",
            "list",
            "--home",
            str(tmp_path),
            "--cursor",
            cursor,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "invalid cursor" in proc.stderr


def test_doctor_repair_deletes_rows_of_vanished_threads(tmp_path: Path) -> None:
    paths = make_home(tmp_path, 4)
    db = SqliteIndex.for_home(tmp_path)
    run_backfill(tmp_path, db)
    paths[2].unlink()
    fixed = doctor(tmp_path, db, fix=True)
    assert fixed.clean and any("deleted row" in action for action in fixed.repaired)
    assert len(db.rows()) == 3


def test_progress_is_a_bar_on_a_terminal_and_log_events_otherwise(tmp_path: Path) -> None:
    import io

    from threadlog.actors.cli.progress import ProgressReporter
    from threadlog.projections.index.backfill import BackfillProgress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressReporter("backfill", stream=tty, interval=0)
    bar(BackfillProgress(done=5, total=10, bytes=100))
    bar(BackfillProgress(done=10, total=10, bytes=200))
    bar.close()
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())  # without the colours
    assert "backfill" in drawn and " 5/10 files" in drawn and "MB/s" in drawn
    assert "10/10 files" in drawn and drawn.endswith("\n")
    make_home(tmp_path, 3)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadlog.actors.cli.main",
            "backfill",
            "--home",
            str(tmp_path),
            "--log-format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=REPO,
    )
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [e["event"] for e in events if e["event"] == "progress"] == ["progress"]
    assert events[-1]["event"] == "backfill_complete" and events[-1]["threads"] == 3


def test_a_stopped_backfill_gives_the_lease_back(tmp_path: Path) -> None:
    make_home(tmp_path, 450)
    db = SqliteIndex.for_home(tmp_path)
    calls = iter([False, True])
    stats = run_backfill(tmp_path, db, should_stop=lambda: next(calls))
    state = db.backfill_state()
    assert stats.claimed and stats.files == 200
    assert state.status == "pending" and state.last_watermark is not None
    again = run_backfill(tmp_path, db)  # claims at once: no stale lease to wait out
    assert again.claimed and again.files == 250
    assert db.backfill_state().status == "complete" and len(db.rows()) == 450


def test_replay_builds_the_schema_and_search_index_a_backfill_builds(tmp_path: Path) -> None:
    """Replay defers the secondary and search indexes to the end of its bulk load: what it
    swaps in must be the very schema, with a search index in step with every row."""
    make_home(tmp_path, 40)
    replay(tmp_path, tmp_path / "replayed.sqlite")
    backfill_logs(FileLogStore(tmp_path), SqliteIndex.open(tmp_path / "backfilled.sqlite"))

    def facts(name: str) -> tuple[list[Any], list[Any], list[Any]]:
        conn = apsw.Connection(str(tmp_path / name))
        try:
            # FTS5 raises here when its index and the rows disagree.
            conn.execute(
                "INSERT INTO threads_search(threads_search, rank) VALUES ('integrity-check', 1)"
            )
            schema = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                "ORDER BY type, name"
            ).fetchall()
            rows = conn.execute("SELECT id, title FROM threads ORDER BY id").fetchall()
            found = [
                conn.execute(
                    "SELECT t.id FROM threads_search s JOIN threads t ON t.rowid = s.rowid "
                    "WHERE threads_search MATCH ? ORDER BY t.id",
                    ('"' + title[2:7].replace('"', '""') + '"',),
                ).fetchall()
                for _, title in rows
                if len(title) >= 7
            ]
            return schema, rows, found
        finally:
            conn.close()

    replayed, backfilled = facts("replayed.sqlite"), facts("backfilled.sqlite")
    assert replayed == backfilled
    schema, rows, found = replayed
    assert any(kind == "trigger" for kind, _, _ in schema) and len(rows) == 40
    assert found and all(hits for hits in found)


def test_backfill_progress_counts_every_log_first_and_ends_at_the_total(tmp_path: Path) -> None:
    make_home(tmp_path, 450)
    seen: list[tuple[int, int]] = []
    stats = backfill_logs(
        FileLogStore(tmp_path),
        SqliteIndex.for_home(tmp_path),
        progress=lambda p: seen.append((p.done, p.total)),
    )
    assert stats.threads == 450
    assert seen == [(200, 450), (400, 450), (450, 450)]


def test_ctrl_c_mid_backfill_ends_its_workers_without_a_trace(tmp_path: Path) -> None:
    # A terminal sends SIGINT to the whole foreground group: the command and its workers.
    make_home(tmp_path, 600)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.backfill_child", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**ENV, "BACKFILL_CHILD_WAIT": "1"},
        cwd=REPO,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stderr is not None
    for line in child.stdout:  # log lines come first (unconfigured structlog: stdout)
        if line.startswith("checkpoint"):
            break
    assert _session_members(child.pid) - {child.pid}  # the workers are there
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=30)
    _wait_for_empty_session(child.pid)
    assert "KeyboardInterrupt" in err  # the command itself was interrupted
    assert "Process ForkProcess" not in err  # and no worker died with a trace of its own
    db = SqliteIndex.for_home(tmp_path)
    assert db.backfill_state().status == "running"  # resumable from its checkpoint
    resumed = run_backfill(tmp_path, db, lease_seconds=0)
    assert resumed.claimed and len(db.rows()) == 600
    db.close()


def test_replay_removes_the_scratch_files_of_replays_that_died(tmp_path: Path) -> None:
    make_home(tmp_path, 5)
    db_path = tmp_path / "threadlog.sqlite"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid names no process now
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_files = [tmp_path / f"threadlog.sqlite.replay-{gone.pid}{s}" for s in ("", "-wal")]
        live_file = tmp_path / f"threadlog.sqlite.replay-{alive.pid}"
        for path in (*dead_files, live_file):
            path.write_bytes(b"half a database")
        orphan_journal = tmp_path / "threadlog.sqlite.replay-99999999-journal"
        orphan_journal.write_bytes(b"x")  # past any pid_max: no process has it
        replay(tmp_path, db_path)
        assert not any(p.exists() for p in dead_files) and not orphan_journal.exists()
        assert live_file.exists()  # another replay, still running: its file is its own
        assert len(SqliteIndex.open(db_path).rows()) == 5
    finally:
        alive.kill()
        alive.wait()
