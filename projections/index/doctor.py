"""``doctor``: compare the index with the logs, and optionally repair what can be repaired.

Checks: rows whose log is gone (or moved), logs with no row, rows whose recorded position no
longer matches their log, torn tails, unreadable lines (in every file of a thread, its older
files too), forks whose history base is missing or loops, and whether the backfill
completed.
Repairs: delete rows of vanished threads, re-point moved ones, index missing and stale
logs, heal torn tails (only when no writer holds the log: healing goes through the log's
one writer, like every write). Unreadable lines are reported, never deleted: they may be
someone's data.
"""

from __future__ import annotations

import io
from typing import Final

import msgspec

from threadlog.events.rows import LogPosition
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.indexer import sync_log
from threadlog.projections.index.lineage import first_meta, resolve
from threadlog.store.ports import IndexStore, LogRef, LogStore, WriterLockedError
from threadlog.store.reader import LineIssue, ReadReport, decode_raw, iter_raw_lines_from


class DoctorReport(msgspec.Struct):
    """Everything doctor found (and did)."""

    files: int = 0
    rows: int = 0
    backfill_status: str = "pending"
    missing_files: list[str] = []
    moved_files: list[str] = []
    unindexed_files: list[str] = []
    empty_files: list[str] = []
    stale_rows: list[str] = []
    torn_tails: list[str] = []
    bad_lines: list[LineIssue] = []
    broken_bases: list[str] = []
    repaired: list[str] = []

    @property
    def clean(self) -> bool:
        """True when index and logs match and every line reads."""
        return (
            self.backfill_status == "complete"
            and not self.missing_files
            and not self.moved_files
            and not self.unindexed_files
            and not self.empty_files
            and not self.stale_rows
            and not self.torn_tails
            and not self.bad_lines
            and not self.broken_bases
        )


def _scan_log(logs: LogStore, ref: LogRef, report: DoctorReport) -> LogPosition:
    """Read every line; record bad lines and a torn tail; return the good end position."""
    chunk = logs.read_bytes(ref)
    read = ReadReport()
    stream = io.BytesIO(chunk.data)
    for raw in iter_raw_lines_from(stream, path=ref.location, report=read):
        decode_raw(raw, path=ref.location, report=read)
    report.bad_lines += read.issues
    if read.torn_tail is not None:
        report.torn_tails.append(ref.location)
    return LogPosition(read.end_offset, chunk.identity)


def _check_history(logs: LogStore, ref: LogRef, report: DoctorReport) -> None:
    """A thread's older files read, and its history bases resolve."""
    for older in logs.segments(ref.thread_id)[:-1]:
        report.files += 1
        try:
            _scan_log(logs, older, report)
        except OSError:
            continue
    meta = first_meta(logs, ref)
    if meta is not None and meta.base is not None:
        problem = resolve(logs, ref, meta).problem
        if problem is not None:
            report.broken_bases.append(f"{ref.thread_id}: {problem}")


def examine(logs: LogStore, index: IndexStore) -> DoctorReport:
    """Compare without changing anything."""
    report = DoctorReport(backfill_status=index.backfill_state().status)
    rows = {row.id: row for row in index.rows()}
    report.rows = len(rows)
    seen: set[str] = set()
    for archived in (False, True):
        for ref in logs.logs(archived=archived):
            report.files += 1
            try:
                end = _scan_log(logs, ref, report)
            except OSError:
                continue
            seen.add(ref.thread_id)
            if end.offset == 0 and logs.stat(ref).size == 0:
                # created, then a crash before its first line: not a thread, no data
                report.empty_files.append(ref.location)
                continue
            _check_history(logs, ref, report)
            row = rows.get(ref.thread_id)
            if row is None:
                report.unindexed_files.append(ref.location)
            elif row.rollout_path != ref.location:
                report.moved_files.append(row.id)
            elif row.log_position != end:
                report.stale_rows.append(row.id)
    for thread_id, row in rows.items():
        if thread_id not in seen and logs.ref_at(row.rollout_path) is None:
            report.missing_files.append(thread_id)
    return report


def repair(logs: LogStore, index: IndexStore, found: DoctorReport) -> list[str]:
    """Fix what ``examine`` found that can be fixed; returns what was done."""
    done: list[str] = []
    if found.backfill_status != "complete":
        stats = run_backfill(logs, index)
        if stats.claimed:
            done.append(f"ran the backfill ({stats.threads} threads)")
    for location in found.torn_tails:
        ref = logs.ref_at(location)
        if ref is None:
            continue
        try:
            logs.open_writer(ref, durability="fsync").close()
        except WriterLockedError:
            done.append(f"left {location}: a writer holds it")
            continue
        done.append(f"healed torn tail of {location}")
        if sync_log(index, logs, ref).entry is not None:  # its end moved past the fragment
            done.append(f"re-indexed {ref.thread_id}")
    for thread_id in found.missing_files:
        index.delete(thread_id)
        done.append(f"deleted row of {thread_id} (its rollout is gone)")
    for thread_id in found.moved_files + found.stale_rows:
        ref = logs.locate(thread_id)
        if ref is not None and sync_log(index, logs, ref).entry is not None:
            done.append(f"re-indexed {thread_id}")
    for location in found.empty_files:
        ref = logs.ref_at(location)
        if ref is not None and logs.discard_empty(ref):
            done.append(f"removed {location} (empty: a crash before its first line)")
    for location in found.unindexed_files:
        ref = logs.ref_at(location)
        if ref is not None and sync_log(index, logs, ref).entry is not None:
            done.append(f"indexed {location}")
    return done


MAX_REPAIR_PASSES: Final = 3


def doctor(logs: LogStore, index: IndexStore, *, fix: bool = False) -> DoctorReport:
    """Examine; with ``fix``, repair until nothing more can be done (one run converges: a
    repair can uncover another, such as a healed tail whose row is now stale)."""
    report = examine(logs, index)
    done: list[str] = []
    for _ in range(MAX_REPAIR_PASSES if fix else 0):
        if report.clean:
            break
        actions = repair(logs, index, report)
        report = examine(logs, index)
        if not actions:
            break
        done += actions
    report.repaired = done
    return report


def what_is_left(report: DoctorReport) -> list[str]:
    """What a repair cannot fix, each with what to do about it."""
    left = []
    if report.bad_lines:
        first = report.bad_lines[0]
        left.append(
            f"{len(report.bad_lines)} unreadable line(s), first {first.path}:{first.line_no} "
            "(kept: they may be someone's data). See the thread with `threadlog read ID`; "
            "remove or fix the lines by hand if they are garbage, then run doctor again."
        )
    if report.broken_bases:
        left.append(
            f"{len(report.broken_bases)} fork(s) whose history base cannot be read. Restore the "
            "parent's rollout file; meanwhile `threadlog read` shows the fork's own turns."
        )
    if report.torn_tails:
        left.append(
            f"{len(report.torn_tails)} torn tail(s) held by a running writer. Run "
            "`threadlog doctor --repair` again once the thread is idle."
        )
    rest = report.missing_files or report.moved_files or report.unindexed_files
    if rest or report.stale_rows or report.backfill_status != "complete":
        left.append("index rows out of step with the logs. Run `threadlog replay` to rebuild it.")
    return left
