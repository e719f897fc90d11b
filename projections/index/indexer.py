"""Indexing one rollout file into a row: from scratch, or resumed where the last read ended.

The row remembers how far into the file it was folded (``indexed_offset``) and which file
that was (inode, size, mtime). A file that only grew is read from that offset and the new
lines are folded onto the stored row; a file that shrank or was replaced (another inode) is
read again from the start; an unchanged file is not read at all.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import ThreadRecord, ThreadRow
from threadlog.projections.index_scan import ScanResult, scan_metadata
from threadlog.projections.metadata import MetadataExtractor, whole_seconds_ms
from threadlog.store.layout import ARCHIVED_DIR, parse_rollout_file_name
from threadlog.store.reader import read_bytes_from
from threadlog.store.statedb import StateDb


class IndexOutcome(msgspec.Struct):
    """What indexing one file produced."""

    path: str
    record: ThreadRecord | None = None
    scan: ScanResult | None = None
    error: str | None = None
    resumed: bool = False
    unchanged: bool = False


def _can_resume(row: ThreadRow, ino: int, size: int) -> bool:
    return row.indexed_offset > 0 and row.file_ino == ino and size >= row.indexed_offset


def extract_file(
    path: Path,
    *,
    previous: ThreadRow | None = None,
    previous_tools: list[DynamicToolSpec] | None = None,
) -> IndexOutcome:
    """Fold a file's metadata, resuming from ``previous`` when the file only grew."""
    outcome = IndexOutcome(path=str(path))
    parsed = parse_rollout_file_name(path.name)
    if parsed is None:
        outcome.error = "not a rollout file name"
        return outcome
    try:
        head = read_bytes_from(path, 0) if previous is None else None
        snapshot = head
        if snapshot is None:
            assert previous is not None
            probe = read_bytes_from(path, max(0, previous.indexed_offset - 1))
            resume = _can_resume(previous, probe.ino, probe.size) and probe.data[:1] == b"\n"
            if (
                resume
                and probe.size == previous.file_size
                and probe.mtime_ns == previous.file_mtime_ns
                and previous.rollout_path == str(path)
            ):
                outcome.unchanged = True
                outcome.record = ThreadRecord(previous, list(previous_tools or []))
                return outcome
            snapshot = probe if resume else read_bytes_from(path, 0)
            outcome.resumed = resume
    except OSError as exc:
        outcome.error = f"unreadable: {exc.strerror or exc}"
        return outcome
    archived = path.parent.name == ARCHIVED_DIR
    if outcome.resumed and previous is not None:
        extractor = MetadataExtractor.from_row(
            msgspec.structs.replace(previous, rollout_path=str(path)), previous_tools or []
        )
        data, base = snapshot.data[1:], snapshot.offset + 1
    else:
        created_ms = int(parsed.timestamp.timestamp() * 1000)
        extractor = MetadataExtractor(
            thread_id=parsed.thread_id, rollout_path=str(path), created_at_ms=created_ms
        )
        data, base = snapshot.data, snapshot.offset
    scan = scan_metadata(data, base, extractor)
    outcome.scan = scan
    if not outcome.resumed and not scan.saw_meta:
        outcome.error = "no session_meta"
        return outcome
    mtime_ms = whole_seconds_ms(snapshot.mtime_ns // 1_000_000)
    archived_at = None
    if archived:
        archived_at = previous.archived_at_ms if previous and previous.archived_at_ms else mtime_ms
    outcome.record = extractor.record(
        updated_at_ms=mtime_ms,
        archived=archived,
        archived_at_ms=archived_at,
        file_size=snapshot.size,
        indexed_offset=scan.end_offset,
        file_mtime_ns=snapshot.mtime_ns,
    )
    outcome.record = ThreadRecord(
        msgspec.structs.replace(outcome.record.row, file_ino=snapshot.ino),
        outcome.record.dynamic_tools,
    )
    return outcome


def sync_file(db: StateDb, path: Path, *, updated_at_ms: int | None = None) -> IndexOutcome:
    """Bring one file's row up to date (live sync after writes, or a repair)."""
    parsed = parse_rollout_file_name(path.name)
    previous = db.get_thread(parsed.thread_id) if parsed else None
    tools = db.get_dynamic_tools(previous.id) if previous else None
    outcome = extract_file(path, previous=previous, previous_tools=tools)
    if outcome.record is not None and not outcome.unchanged:
        record = outcome.record
        if updated_at_ms is not None:
            record = ThreadRecord(
                msgspec.structs.replace(record.row, updated_at_ms=updated_at_ms),
                record.dynamic_tools,
            )
        db.upsert_records([record])
    return outcome
