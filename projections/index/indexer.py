"""Indexing one thread's log into a row: from scratch, or resumed where the last read ended.

The row remembers how far its log was folded (``ThreadRow.log_position``, a position the
log store gave out). A log that only grew is read from that position and the new lines are
folded onto the stored row; a log the store no longer recognises the position of (replaced,
truncated) is read again from the start; a log with nothing new is not folded at all.
Works on any ``LogStore`` and ``IndexStore``.
"""

from __future__ import annotations

import msgspec

from threadlog.events import RolloutLine
from threadlog.events.rollout import DynamicToolSpec, SessionMeta
from threadlog.events.rows import IndexEntry, LogPosition, ThreadRow, TurnIndexState, TurnSpan
from threadlog.projections.index.lineage import first_line_in, first_meta, resolve
from threadlog.projections.index_scan import ScanResult, scan_metadata
from threadlog.projections.metadata import MetadataExtractor, whole_seconds_ms
from threadlog.projections.turn_spans import OWN_LOG, TurnSpanner
from threadlog.store.ports import IndexStore, LogRef, LogStore


class IndexOutcome(msgspec.Struct):
    """What indexing one log produced."""

    location: str
    entry: IndexEntry | None = None
    scan: ScanResult | None = None
    error: str | None = None
    resumed: bool = False
    unchanged: bool = False
    lineage_problem: str | None = None


def _feed_bases(
    logs: LogStore,
    ref: LogRef,
    meta: SessionMeta | None,
    extractor: MetadataExtractor,
    spanner: TurnSpanner,
) -> str | None:
    """Fold a fork's (or revert's) inherited history first, under the log's own meta; the
    inherited turns' spans point into the base logs.

    The inherited part of a base never changes, so a resumed fold need not see it again.
    Returns the lineage's problem, if any.
    """
    if meta is None or meta.base is None:
        return None
    extractor.feed(meta)
    lineage = resolve(logs, ref, meta)
    extractor.inheriting = True
    for segment in lineage.bases:
        base = TurnSpanner(segment.ref.location)
        if segment.end_offset is not None:
            data = logs.read_bytes(segment.ref).data[: segment.end_offset]
            scan_metadata(data, 0, extractor, base)
            inherited = base.cut(segment.end_offset)
        else:
            end = 0
            for read in logs.read_lines(segment.ref):
                if not segment.includes(read):
                    break
                extractor.feed(read.line.item)
                base.feed(read.line.item, read.offset, read.end, read.line.ordinal)
                end = read.end
            inherited = base.cut(end)
        spanner.spans.extend(inherited)
    extractor.inheriting = False
    return lineage.problem


def extract_log(
    logs: LogStore,
    ref: LogRef,
    *,
    previous: ThreadRow | None = None,
    previous_tools: list[DynamicToolSpec] | None = None,
    previous_turns: TurnIndexState | None = None,
) -> IndexOutcome:
    """Fold a log's metadata and turn spans, resuming from ``previous`` when the log only
    grew (``previous_turns``: what the index holds of its turns, at the row's position)."""
    outcome = IndexOutcome(location=ref.location)
    try:
        chunk = logs.read_bytes(ref, previous.log_position if previous else None)
    except OSError as exc:
        outcome.error = f"unreadable: {exc.strerror or exc}"
        return outcome
    if previous is not None and chunk.offset == previous.log_position.offset > 0:
        outcome.resumed = True
        if not chunk.data and previous.rollout_path == ref.location:
            outcome.unchanged = True
            outcome.entry = IndexEntry(previous, list(previous_tools or []))
            return outcome
    if outcome.resumed and previous is not None:
        extractor = MetadataExtractor.from_row(
            msgspec.structs.replace(previous, rollout_path=ref.location), previous_tools or []
        )
    else:
        extractor = MetadataExtractor(
            thread_id=ref.thread_id, rollout_path=ref.location, created_at_ms=ref.created_ms
        )
    # A resumed fold continues the spans: only the last one (if still open) can change.
    turns_from = 0
    seed: list[TurnSpan] = []
    if outcome.resumed and previous_turns is not None:
        last = previous_turns.last
        still_open = last is not None and last.end_offset is None and last.log_location == OWN_LOG
        turns_from = previous_turns.count - 1 if still_open else previous_turns.count
        seed = [last] if still_open and last is not None else []
    spanner = TurnSpanner(OWN_LOG, seed)
    known: tuple[int, RolloutLine] | None = None
    if not outcome.resumed:
        # Not resumed: the chunk is the whole log, whose first line is in hand; the scan
        # reuses its decoding.
        meta: SessionMeta | None = None
        if chunk.offset != 0:
            meta = first_meta(logs, ref)
        elif (first := first_line_in(chunk.data)) is not None:
            known = (first.offset, first.line)
            meta = first.line.item if isinstance(first.line.item, SessionMeta) else None
        outcome.lineage_problem = _feed_bases(logs, ref, meta, extractor, spanner)
    scan = scan_metadata(chunk.data, chunk.offset, extractor, spanner, known)
    outcome.scan = scan
    if not outcome.resumed and not scan.saw_meta:
        outcome.error = "no session_meta"
        return outcome
    modified_ms = whole_seconds_ms(chunk.modified_ms)
    archived_at = None
    if ref.archived:
        kept = previous.archived_at_ms if previous is not None else None
        archived_at = kept or modified_ms
    outcome.entry = extractor.entry(
        updated_at_ms=modified_ms,
        archived=ref.archived,
        archived_at_ms=archived_at,
        log_position=LogPosition(scan.end_offset, chunk.identity),
    )
    if outcome.resumed and previous_turns is None:
        outcome.entry = IndexEntry(outcome.entry.row, outcome.entry.dynamic_tools, None)
    else:
        outcome.entry = IndexEntry(
            outcome.entry.row, outcome.entry.dynamic_tools, spanner.spans, turns_from
        )
    return outcome


def sync_log(
    index: IndexStore, logs: LogStore, ref: LogRef, *, updated_at_ms: int | None = None
) -> IndexOutcome:
    """Bring one log's row up to date (live sync after writes, or a repair)."""
    previous = index.get(ref.thread_id)
    tools = index.dynamic_tools(previous.id) if previous else None
    stored = index.turn_state(previous.id) if previous else None
    # spans continue only from the very position the row was folded to
    turns = stored if stored and previous and stored.position == previous.log_position else None
    outcome = extract_log(logs, ref, previous=previous, previous_tools=tools, previous_turns=turns)
    if outcome.entry is not None and not outcome.unchanged:
        record = outcome.entry
        if updated_at_ms is not None:
            record = IndexEntry(
                msgspec.structs.replace(record.row, updated_at_ms=updated_at_ms),
                record.dynamic_tools,
            )
        index.upsert([record])
    return outcome
