"""The backfill's worker processes (``actors/cli/extract_pool.py``): the same index as one
process builds, in the same order, and a clear error when a worker dies."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.homes import make_home
from tests.support.sqlite_files import dump_tables
from threadlog.actors.cli import extract_pool
from threadlog.actors.cli.extract_pool import WorkerLostError, extraction_pool
from threadlog.projections.index.backfill import extract_batch, pending_logs, run_backfill
from threadlog.projections.index.indexer import IndexOutcome
from threadlog.projections.index.replay import replay
from threadlog.store.files import FileLogStore
from threadlog.store.memory import MemoryLogStore
from threadlog.store.ports import LogRef, LogStore
from threadlog.store.sqlite_index import SqliteIndex


def _damaged_home(root: Path, count: int) -> None:
    paths = make_home(root, count)
    paths[3].write_bytes(paths[3].read_bytes().split(b"\n", 1)[1])  # no session_meta
    with paths[250].open("ab") as stream:
        stream.write(b'{"timestamp":"x","type":"event_msg","payload":{"broken\n')
    # Files written within the last second count as live writes, whose updated_at the
    # index bumps past the newest; both replays must see the files as settled.
    settled = time.time() - 3600
    for path in paths:
        os.utime(path, (settled, settled))


def test_replay_by_worker_processes_builds_the_index_one_process_builds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _damaged_home(home, 450)  # three batches, folded out of order by two workers
    alone = replay(home, tmp_path / "alone.sqlite")
    logs = FileLogStore(home)
    with extraction_pool(logs, workers=2) as extract:
        assert extract is not None
        pooled = replay(home, tmp_path / "pooled.sqlite", logs=logs, extract=extract)
    assert dump_tables(tmp_path / "pooled.sqlite") == dump_tables(tmp_path / "alone.sqlite")
    assert pooled.threads == alone.threads == 449
    assert pooled.errors == alone.errors == 1 and pooled.bad_lines == alone.bad_lines == 1
    assert pooled.error_files == alone.error_files and pooled.bytes == alone.bytes


def test_a_dead_worker_is_a_clear_error_and_the_index_keeps_what_it_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_home(tmp_path, 450)
    doomed = list(pending_logs(FileLogStore(tmp_path), None))[300].thread_id

    def dying(logs: LogStore, batch: Sequence[LogRef]) -> list[IndexOutcome]:
        if any(ref.thread_id == doomed for ref in batch):
            os._exit(3)  # as a worker killed by the OOM killer would
        return extract_batch(logs, batch)

    # The workers are forked: they inherit the patched fold.
    monkeypatch.setattr(extract_pool, "extract_batch", dying)
    logs = FileLogStore(tmp_path)
    index = SqliteIndex.for_home(tmp_path)
    with (
        pytest.raises(WorkerLostError, match="run the command again"),
        extraction_pool(logs, workers=2) as extract,
    ):
        run_backfill(logs, index, extract=extract)
    state = index.backfill_state()
    committed = len(index.rows())
    assert committed < 450 and state.status == "running"
    # what was committed and what is left after the watermark are the whole home
    assert committed + len(list(pending_logs(logs, state.last_watermark))) == 450
    monkeypatch.undo()
    again = run_backfill(logs, index, lease_seconds=0)
    assert again.claimed and len(index.rows()) == 450


def test_stores_other_than_files_and_one_core_fold_in_process() -> None:
    with extraction_pool(MemoryLogStore()) as extract:
        assert extract is None
    with extraction_pool(FileLogStore(Path("/nonexistent")), workers=0) as extract:
        assert extract is None


def test_a_fold_that_raises_in_a_worker_is_reported_with_its_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_home(tmp_path, 120)

    def failing(logs: LogStore, batch: Sequence[LogRef]) -> list[IndexOutcome]:
        if any(ref.location.endswith("5.jsonl") for ref in batch):
            raise RuntimeError("a bug in a fold")
        return extract_batch(logs, batch)

    monkeypatch.setattr(extract_pool, "extract_batch", failing)
    logs = FileLogStore(tmp_path)
    index = SqliteIndex.for_home(tmp_path)
    with (
        pytest.raises(WorkerLostError, match=r"(?s)failed folding.*RuntimeError: a bug in a fold"),
        extraction_pool(logs, workers=2) as extract,
    ):
        run_backfill(logs, index, extract=extract)
    assert index.backfill_state().status == "running"  # resumable, as after any crash


def test_a_backfill_paused_with_parts_in_flight_ends_its_workers_quietly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    make_home(tmp_path, 900)
    logs = FileLogStore(tmp_path)
    index = SqliteIndex.for_home(tmp_path)
    asked = []

    def stop_after_the_first_batch() -> bool:
        asked.append(1)
        return len(asked) > 1

    with extraction_pool(logs, workers=2) as extract:
        assert extract is not None
        stats = run_backfill(logs, index, extract=extract, should_stop=stop_after_the_first_batch)
    assert stats.files == 200 and index.backfill_state().status == "pending"
    assert "Traceback" not in capfd.readouterr().err  # no worker died loudly on its pipe
    again = run_backfill(logs, index)
    assert again.claimed and len(index.rows()) == 900
