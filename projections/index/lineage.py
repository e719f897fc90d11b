"""A thread's history across logs: forks by reference and reverts (0.169+).

Since 0.169 a fork does not copy its parent's lines: its ``session_meta`` carries
``history_base {thread_id, end_ordinal_exclusive, end_byte_offset}``, and its history is the
base log's lines before that point, then its own. A revert starts a new log for the same
thread whose base is the thread's previous log. Bases chain (a fork of a fork), so a
thread's history is a list of log segments, oldest first, then its own log.

``history_lines`` yields that history as one stream of lines, the head log's
``session_meta`` first (so every fold sees the thread's own identity before any inherited
line), then each base's lines up to its end, then the rest of the head log. Nothing is
copied. A base that cannot be found, a bad base id, or a cycle is reported in
``Lineage.problem`` and the history is what could be read: the thread's own lines at least.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import SessionMeta
from threadlog.store.ports import LogRef, LogStore
from threadlog.store.reader import ReadLine, ReadReport, decode_raw, raw_lines_in

MAX_DEPTH: Final = 256
"""Bases followed at most (a longer chain is reported, never followed forever)."""


class Segment(msgspec.Struct, frozen=True):
    """Part of a log that belongs to a thread's history: its lines before the end given."""

    ref: LogRef
    end_offset: int | None = None
    end_ordinal: int | None = None

    def includes(self, read: ReadLine) -> bool:
        """Whether a line of this log is before the segment's end."""
        if self.end_offset is not None:
            return read.end <= self.end_offset
        if self.end_ordinal is not None and read.line.ordinal is not None:
            return read.line.ordinal < self.end_ordinal
        return True


class Lineage(msgspec.Struct):
    """The inherited segments of a thread's history (oldest first) and what went wrong."""

    bases: list[Segment]
    problem: str | None = None
    # While ``history_lines`` yields inherited lines this is True (a lazy reader can tell
    # the thread's own lines from its parents').
    reading_base: bool = False


def first_meta(logs: LogStore, ref: LogRef) -> SessionMeta | None:
    """The log's first line when it is a ``session_meta`` (only that line is decoded)."""
    for read in logs.read_lines(ref, report=ReadReport()):
        return read.line.item if isinstance(read.line.item, SessionMeta) else None
    return None


def first_line_in(data: bytes) -> ReadLine | None:
    """The first line ``read_lines`` would give of a log whose bytes are in hand."""
    report = ReadReport()
    for raw in raw_lines_in(data, report=report):
        read = decode_raw(raw, path="", report=report)
        if read is not None:
            return read
    return None


def pick_base(candidates: list[LogRef], child: LogRef) -> LogRef | None:
    """Which of a base thread's logs a child's base points into.

    The newest one made before the child (a revert's previous file, or the parent's file
    as it was when the fork was made); the child itself never.
    """
    others = [c for c in candidates if c.location != child.location]
    earlier = [c for c in others if c.created_ms <= child.created_ms]
    pool = earlier or others
    return pool[-1] if pool else None


def resolve(logs: LogStore, head: LogRef, meta: SessionMeta | None) -> Lineage:
    """Follow ``history_base`` from the head log's meta back to the first log."""
    bases: list[Segment] = []
    seen = {head.location}
    current, current_meta = head, meta
    while current_meta is not None and current_meta.base is not None:
        base = current_meta.base
        try:
            base_id = parse_thread_id(base.thread_id)
        except ValueError:
            return Lineage(bases[::-1], f"history base has a bad thread id: {base.thread_id!r}")
        ref = pick_base(logs.segments(base_id), current)
        if ref is None:
            return Lineage(bases[::-1], f"history base thread {base_id} not found")
        if ref.location in seen:
            return Lineage(bases[::-1], f"history bases form a cycle at {ref.location}")
        if len(bases) >= MAX_DEPTH:
            return Lineage(bases[::-1], f"history bases deeper than {MAX_DEPTH}")
        seen.add(ref.location)
        bases.append(Segment(ref, base.end_byte_offset, base.end_ordinal_exclusive))
        current, current_meta = ref, first_meta(logs, ref)
    return Lineage(bases[::-1])


def history_lines(
    logs: LogStore,
    head: LogRef,
    *,
    report: ReadReport | None = None,
    lineage: Lineage | None = None,
) -> Iterator[ReadLine]:
    """The thread's whole history as lines; ``report`` describes the head log only.

    Set ``lineage`` to receive the bases followed and any problem with them.
    """
    report = report if report is not None else ReadReport()
    own = logs.read_lines(head, report=report)
    first = next(own, None)
    if first is None:
        return
    meta = first.line.item if isinstance(first.line.item, SessionMeta) else None
    found = resolve(logs, head, meta) if meta is not None else Lineage([])
    if lineage is not None:
        lineage.bases, lineage.problem = found.bases, found.problem
    yield first
    for segment in found.bases:
        for read in logs.read_lines(segment.ref, report=ReadReport()):
            if not segment.includes(read):
                break
            if lineage is not None:
                lineage.reading_base = True
            yield read
    if lineage is not None:
        lineage.reading_base = False
    yield from own
