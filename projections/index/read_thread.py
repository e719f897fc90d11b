"""Reading one thread from its rollout file: locate, fold, name (no database needed).

This is ``thread/read``: the file is found by id under ``sessions/`` and then
``archived_sessions/``; the metadata fold gives the ``Thread`` fields, the history fold the
turns, ``session_index.jsonl`` the name, and the file's mtime ``updatedAt``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from threadlog.events.errors import ThreadNotFoundError
from threadlog.events.ids import new_id, parse_thread_id
from threadlog.events.rollout import RolloutItem
from threadlog.events.rows import ThreadRecord
from threadlog.events.views import Thread, ThreadStatus
from threadlog.projections.history import HistoryBuilder
from threadlog.projections.metadata import MetadataExtractor, whole_seconds_ms
from threadlog.projections.thread_view import thread_view
from threadlog.store.layout import ARCHIVED_DIR, find_rollout_path, parse_rollout_file_name
from threadlog.store.names import find_thread_name
from threadlog.store.reader import ReadReport, read_rollout


class RolloutFile(msgspec.Struct):
    """Everything one read of a rollout file yields."""

    path: Path
    record: ThreadRecord
    items: list[RolloutItem]
    report: ReadReport


def load_rollout(
    path: Path, *, keep_items: bool = True, report: ReadReport | None = None
) -> RolloutFile:
    """Read and fold one rollout file's metadata (keeping its items for the history fold)."""
    report = report if report is not None else ReadReport()
    stat = path.stat()
    parsed = parse_rollout_file_name(path.name)
    created_ms = int(parsed.timestamp.timestamp() * 1000) if parsed else stat.st_mtime_ns // 10**6
    thread_id = parsed.thread_id if parsed else ""
    extractor = MetadataExtractor(
        thread_id=thread_id, rollout_path=str(path), created_at_ms=created_ms
    )
    items: list[RolloutItem] = []
    end = 0
    for read in read_rollout(path, report=report):
        extractor.feed(read.line.item)
        if keep_items:
            items.append(read.line.item)
        end = read.end
    archived = path.parent.name == ARCHIVED_DIR
    mtime_ms = whole_seconds_ms(stat.st_mtime_ns // 10**6)
    record = extractor.record(
        updated_at_ms=mtime_ms,
        archived=archived,
        archived_at_ms=mtime_ms if archived else None,
        file_size=stat.st_size,
        indexed_offset=max(end, report.end_offset),
        file_mtime_ns=stat.st_mtime_ns,
    )
    return RolloutFile(path=path, record=record, items=items, report=report)


def read_thread(
    home: Path,
    thread_id: str,
    *,
    include_turns: bool,
    status: ThreadStatus | None = None,
    id_source: Callable[[], str] = new_id,
) -> Thread:
    """``thread/read`` from the files alone; raises ``ThreadNotFoundError`` or ``ValueError``."""
    tid = parse_thread_id(thread_id)
    path = find_rollout_path(home, tid)
    if path is None:
        raise ThreadNotFoundError(tid)
    loaded = load_rollout(path, keep_items=include_turns)
    turns = None
    if include_turns:
        builder = HistoryBuilder(id_source)
        builder.feed_all(loaded.items)
        turns = builder.snapshot(running=False)
    return thread_view(
        loaded.record.row, name=find_thread_name(home, tid), turns=turns, status=status
    )
