"""Reading rollout files: line by line, from any byte offset, never raising on bad data.

Lines are split on ``\\n`` only (``str.splitlines`` would also split on U+2028, which is
valid inside JSON strings). Files are read in chunks, so a multi-gigabyte file never sits in
memory whole. Blank lines are skipped silently; a trailing ``\\r`` is dropped (CRLF files).

Tolerance: a last line without its ``\\n`` (a torn tail, e.g. a writer killed mid-write)
is not returned; a complete line that does not decode is skipped. Both are recorded in the
``ReadReport`` (file, line number, offset, reason) that the caller passes in; nothing here
raises for bad content. Unknown kinds decode to ``Unknown*`` values and pass through.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

import msgspec

from threadlog.events import DecodeError, RolloutLine, decode_line
from threadlog.events.event_msgs import ItemCompleted, TaskStarted, UserMessage, user_message_of
from threadlog.events.rollout import RolloutItem, SessionMeta, TurnContext

_CHUNK: Final = 1 << 20
HEAD_RECORD_LIMIT: Final = 10
USER_EVENT_SCAN_LIMIT: Final = 200


class LineIssue(msgspec.Struct, frozen=True):
    """A line that was not returned, and why."""

    path: str
    line_no: int
    offset: int
    reason: str


class ReadReport:
    """What a read skipped, and how far it got."""

    def __init__(self) -> None:
        self.issues: list[LineIssue] = []
        self.torn_tail: LineIssue | None = None
        self.end_offset = 0
        self.lines = 0

    @property
    def bad_lines(self) -> int:
        """How many complete lines were skipped as corrupt."""
        return len(self.issues)


class RawLine(msgspec.Struct, frozen=True):
    """One complete line's bytes (no ``\\n``/``\\r``) and where it is in the file."""

    offset: int
    end: int
    line_no: int
    data: bytes


class ReadLine(msgspec.Struct, frozen=True):
    """One decoded line and where it is in the file."""

    offset: int
    end: int
    line_no: int
    line: RolloutLine


def iter_raw_lines_from(
    stream: BinaryIO,
    *,
    path: str,
    offset: int = 0,
    first_line_no: int = 1,
    report: ReadReport | None = None,
) -> Iterator[RawLine]:
    """Complete lines of an open binary stream, starting at ``offset``."""
    report = report if report is not None else ReadReport()
    report.end_offset = offset
    stream.seek(offset)
    pending = b""
    pending_offset = offset
    line_no = first_line_no
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        buf = pending + chunk if pending else chunk
        start, line_no = yield from _complete_lines(buf, pending_offset, line_no, report)
        pending = buf[start:]
        pending_offset += start
    if pending.strip(b" \t\r\x00"):
        report.torn_tail = LineIssue(path, line_no, pending_offset, "torn last line (no newline)")


def raw_lines_in(data: bytes, *, report: ReadReport | None = None) -> Iterator[RawLine]:
    """Complete lines of a log's bytes in hand, read from its start (a torn tail is not
    one), as ``iter_raw_lines_from`` gives them, without copying the bytes to a stream."""
    yield from _complete_lines(data, 0, 1, report if report is not None else ReadReport())


def _complete_lines(
    buf: bytes, base: int, line_no: int, report: ReadReport
) -> Generator[RawLine, None, tuple[int, int]]:
    """The complete lines of ``buf`` (at ``base`` in the file); returns where the
    incomplete rest starts in ``buf`` and the next line's number."""
    start = 0
    while True:
        newline = buf.find(b"\n", start)
        if newline < 0:
            return start, line_no
        data = buf[start:newline]
        line_end = base + newline + 1
        if data.endswith(b"\r"):
            data = data[:-1]
        if data.strip():
            report.lines += 1
            yield RawLine(offset=base + start, end=line_end, line_no=line_no, data=data)
        report.end_offset = line_end
        line_no += 1
        start = newline + 1


def iter_raw_lines(
    path: Path, *, offset: int = 0, first_line_no: int = 1, report: ReadReport | None = None
) -> Iterator[RawLine]:
    """Complete lines of a file from ``offset`` (see ``iter_raw_lines_from``)."""
    with path.open("rb") as stream:
        yield from iter_raw_lines_from(
            stream, path=str(path), offset=offset, first_line_no=first_line_no, report=report
        )


def decode_raw(raw: RawLine, *, path: str, report: ReadReport) -> ReadLine | None:
    """Decode one raw line, recording it in ``report`` when it is corrupt."""
    try:
        line = decode_line(raw.data)
    except DecodeError as exc:
        report.issues.append(LineIssue(path, raw.line_no, raw.offset, exc.reason))
        return None
    return ReadLine(offset=raw.offset, end=raw.end, line_no=raw.line_no, line=line)


def read_rollout(
    path: Path, *, offset: int = 0, first_line_no: int = 1, report: ReadReport | None = None
) -> Iterator[ReadLine]:
    """Decoded lines of a rollout file from ``offset``; bad lines are skipped and reported."""
    report = report if report is not None else ReadReport()
    for raw in iter_raw_lines(path, offset=offset, first_line_no=first_line_no, report=report):
        decoded = decode_raw(raw, path=str(path), report=report)
        if decoded is not None:
            yield decoded


def read_items(path: Path, report: ReadReport | None = None) -> list[RolloutItem]:
    """The items of every good line of a file, in order."""
    return [r.line.item for r in read_rollout(path, report=report)]


def read_head(path: Path, max_lines: int, report: ReadReport | None = None) -> list[ReadLine]:
    """The first ``max_lines`` good lines, reading no further than needed."""
    out: list[ReadLine] = []
    if max_lines <= 0:
        return out
    for line in read_rollout(path, report=report):
        out.append(line)
        if len(out) >= max_lines:
            break
    return out


class HeadSummary(msgspec.Struct, frozen=True):
    """What listing needs from the start of a file (Codex's ``read_head_summary``)."""

    meta: SessionMeta | None
    first_user_message: UserMessage | None
    first_timestamp: str | None
    lines_read: int
    # what the head also says, when it says it before the first user message
    turn_context: TurnContext | None = None
    task_started: TaskStarted | None = None


def read_head_summary(path: Path, report: ReadReport | None = None) -> HeadSummary:
    """``head_summary`` of a rollout file."""
    return head_summary(read_rollout(path, report=report))


def head_summary(lines: Iterable[ReadLine]) -> HeadSummary:
    """Scan the head: up to 10 records, or 10 + 200 while a meta is seen without a user message.

    Only the first ``session_meta`` counts; stops as soon as both are found, reading no
    further than needed when ``lines`` is lazy.
    """
    meta: SessionMeta | None = None
    user: UserMessage | None = None
    first_ts: str | None = None
    context: TurnContext | None = None
    started: TaskStarted | None = None
    count = 0
    for read in lines:
        count += 1
        item = read.line.item
        if isinstance(item, TurnContext) and context is None:
            context = item
        elif isinstance(item, TaskStarted) and started is None:
            started = item
        if first_ts is None and read.line.timestamp:
            first_ts = read.line.timestamp
        if meta is None and isinstance(item, SessionMeta):
            meta = item
        elif user is None and isinstance(item, UserMessage):
            user = item
        elif user is None and isinstance(item, ItemCompleted):
            user = user_message_of(item)
        if meta is not None and user is not None:
            break
        limit = HEAD_RECORD_LIMIT
        if meta is not None and user is None:
            limit += USER_EVENT_SCAN_LIMIT
        if count >= limit:
            break
    return HeadSummary(
        meta=meta,
        first_user_message=user,
        first_timestamp=first_ts,
        lines_read=count,
        turn_context=context,
        task_started=started,
    )
