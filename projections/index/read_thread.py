"""Reading one thread from its log: locate, fold, name (no index needed).

This is ``thread/read``: the log is found by id (live first, then archived); the metadata
fold gives the ``Thread`` fields, the history fold the turns, the log store's names the
name, and the log's modification time ``updatedAt``. A fork by reference is read through its
bases (``lineage``).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from threadlog.events.errors import CorruptRolloutError, ThreadNotFoundError
from threadlog.events.ids import new_id, parse_thread_id
from threadlog.events.rollout import RolloutItem
from threadlog.events.rows import IndexEntry, LogPosition
from threadlog.events.views import ReadState, Thread, ThreadStatus
from threadlog.projections.history import HistoryBuilder
from threadlog.projections.index.lineage import Lineage, history_lines
from threadlog.projections.metadata import MetadataExtractor, whole_seconds_ms
from threadlog.projections.thread_view import read_state, thread_view
from threadlog.store.ports import LogRef, LogStore
from threadlog.store.reader import ReadReport, head_summary


class LoadedLog(msgspec.Struct):
    """Everything one read of a thread's log yields."""

    ref: LogRef
    entry: IndexEntry
    items: list[RolloutItem]
    report: ReadReport
    lineage: Lineage


def load_log(
    logs: LogStore, ref: LogRef, *, keep_items: bool = True, report: ReadReport | None = None
) -> LoadedLog:
    """Read and fold one log's metadata (keeping its items for the history fold)."""
    report = report if report is not None else ReadReport()
    stat = logs.stat(ref)
    extractor = MetadataExtractor(
        thread_id=ref.thread_id, rollout_path=ref.location, created_at_ms=ref.created_ms
    )
    items: list[RolloutItem] = []
    lineage = Lineage([])
    for read in history_lines(logs, ref, report=report, lineage=lineage):
        extractor.inheriting = lineage.reading_base
        extractor.feed(read.line.item)
        if keep_items:
            items.append(read.line.item)
    if not extractor.identified:
        raise CorruptRolloutError(f"not a thread: {ref.location} has no session_meta")
    modified_ms = whole_seconds_ms(stat.modified_ms)
    record = extractor.entry(
        updated_at_ms=modified_ms,
        archived=ref.archived,
        archived_at_ms=modified_ms if ref.archived else None,
        log_position=LogPosition(report.end_offset, stat.identity),
    )
    return LoadedLog(ref=ref, entry=record, items=items, report=report, lineage=lineage)


def read_thread(
    logs: LogStore,
    thread_id: str,
    *,
    include_turns: bool,
    status: ThreadStatus | None = None,
    id_source: Callable[[], str] = new_id,
    lineage: Lineage | None = None,
    report: ReadReport | None = None,
) -> Thread:
    """``thread/read`` from the log alone; raises ``ThreadNotFoundError`` or ``ValueError``.

    ``lineage`` receives the bases a fork was read through and any problem with them;
    ``report`` what the read of the thread's own log skipped (corrupt lines, a torn tail).
    """
    tid = parse_thread_id(thread_id)
    ref = logs.locate(tid)
    if ref is None:
        raise ThreadNotFoundError(tid)
    loaded = load_log(logs, ref, keep_items=include_turns, report=report)
    if lineage is not None:
        lineage.bases, lineage.problem = loaded.lineage.bases, loaded.lineage.problem
    turns = None
    if include_turns:
        builder = HistoryBuilder(id_source)
        builder.feed_all(loaded.items)
        turns = builder.snapshot(running=False)
    return thread_view(loaded.entry.row, name=logs.name_of(tid), turns=turns, status=status)


def thread_read_state(logs: LogStore, thread_id: str) -> ReadState:
    """The ``readState`` of ``thread/read``: the first turn of the thread's own log unread.

    Only the log's head is read (its first turn starts within it); a thread without a log
    yet, or without a turn, has no first unread turn.
    """
    tid = parse_thread_id(thread_id)
    ref = logs.locate(tid)
    first_turn = None
    if ref is not None:
        head = head_summary(logs.read_lines(ref))
        first_turn = head.task_started.turn_id if head.task_started is not None else None
    return read_state(tid, first_turn)
