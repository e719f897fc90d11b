"""``doctor``: compare the index with the logs, and optionally repair what can be repaired.

Checks: rows whose file is gone (or moved), files with no row, rows whose recorded size,
offset or mtime no longer match their file, torn tails, unreadable lines, and whether the
backfill completed. Repairs: delete rows of vanished threads, re-point moved ones, index
missing and stale files, heal torn tails (only when no writer holds the file). Unreadable
lines are reported, never deleted: they may be someone's data.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.indexer import sync_file
from threadlog.store.appender import RolloutAppender, WriterLockedError
from threadlog.store.layout import find_rollout_path, iter_rollout_files, parse_rollout_file_name
from threadlog.store.lease import get_backfill_state
from threadlog.store.reader import LineIssue, ReadReport, decode_raw, iter_raw_lines
from threadlog.store.statedb import StateDb


class DoctorReport(msgspec.Struct):
    """Everything doctor found (and did)."""

    files: int = 0
    rows: int = 0
    backfill_status: str = "pending"
    missing_files: list[str] = []
    moved_files: list[str] = []
    unindexed_files: list[str] = []
    stale_rows: list[str] = []
    torn_tails: list[str] = []
    bad_lines: list[LineIssue] = []
    repaired: list[str] = []

    @property
    def clean(self) -> bool:
        """True when index and logs match and every line reads."""
        return (
            self.backfill_status == "complete"
            and not self.missing_files
            and not self.moved_files
            and not self.unindexed_files
            and not self.stale_rows
            and not self.torn_tails
            and not self.bad_lines
        )


def _scan_file(path: Path, report: DoctorReport) -> int:
    """Read every line; record bad lines and a torn tail; return the good end offset."""
    read = ReadReport()
    for raw in iter_raw_lines(path, report=read):
        decode_raw(raw, path=str(path), report=read)
    report.bad_lines += read.issues
    if read.torn_tail is not None:
        report.torn_tails.append(str(path))
    return read.end_offset


def examine(home: Path, db: StateDb) -> DoctorReport:
    """Compare without changing anything."""
    report = DoctorReport(backfill_status=get_backfill_state(db).status)
    rows = {row.id: row for row in db.all_rows()}
    report.rows = len(rows)
    seen: set[str] = set()
    for archived in (False, True):
        for path in iter_rollout_files(home, archived=archived):
            report.files += 1
            end = _scan_file(path, report)
            parsed = parse_rollout_file_name(path.name)
            if parsed is None:
                continue
            seen.add(parsed.thread_id)
            row = rows.get(parsed.thread_id)
            if row is None:
                report.unindexed_files.append(str(path))
                continue
            stat = path.stat()
            if row.rollout_path != str(path):
                report.moved_files.append(row.id)
            elif (row.file_size, row.indexed_offset, row.file_mtime_ns) != (
                stat.st_size,
                end,
                stat.st_mtime_ns,
            ):
                report.stale_rows.append(row.id)
    for thread_id, row in rows.items():
        if thread_id not in seen and not Path(row.rollout_path).exists():
            report.missing_files.append(thread_id)
    return report


def repair(home: Path, db: StateDb, found: DoctorReport) -> list[str]:
    """Fix what ``examine`` found that can be fixed; returns what was done."""
    done: list[str] = []
    if found.backfill_status != "complete":
        stats = run_backfill(home, db)
        if stats.claimed:
            done.append(f"ran the backfill ({stats.threads} threads)")
    for path_text in found.torn_tails:
        try:
            RolloutAppender(Path(path_text), durability="fsync").close()
            done.append(f"healed torn tail of {path_text}")
        except WriterLockedError:
            done.append(f"left {path_text}: a writer holds it")
    for thread_id in found.missing_files:
        db.delete_thread(thread_id)
        done.append(f"deleted row of {thread_id} (its rollout is gone)")
    for thread_id in found.moved_files + found.stale_rows:
        path = find_rollout_path(home, thread_id)
        if path is not None and sync_file(db, path).record is not None:
            done.append(f"re-indexed {thread_id}")
    for path_text in found.unindexed_files:
        if sync_file(db, Path(path_text)).record is not None:
            done.append(f"indexed {path_text}")
    return done


def doctor(home: Path, db: StateDb, *, fix: bool = False) -> DoctorReport:
    """Examine; with ``fix``, repair and examine again."""
    report = examine(home, db)
    if fix and not report.clean:
        done = repair(home, db, report)
        report = examine(home, db)
        report.repaired = done
    return report
