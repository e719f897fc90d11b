"""In-memory implementations of the storage ports, for contract suites and host tests.

They keep every promise of the ports (``store.ports``) except surviving the process, and
pass the same contract suites as the rollout files and SQLite. They are never a stand-in
for testing the real backends: the suites run against those too.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Final

import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    Anchor,
    IndexEntry,
    LogPosition,
    ThreadPage,
    ThreadQuery,
    ThreadRow,
    TurnIndexState,
    TurnSpan,
)
from threadlog.store.clock import wall_clock_ms
from threadlog.store.names import normalize_name
from threadlog.store.ports import (
    ArchiveError,
    BackfillState,
    Durability,
    LogChunk,
    LogRef,
    LogStat,
    SegmentsUnsupportedError,
    ThreadLease,
    ThreadOwnedError,
    WriterLockedError,
    checked_append,
    count_listed,
    in_key_order,
)
from threadlog.store.reader import ReadLine, ReadReport, decode_raw, iter_raw_lines_from

_SCHEME: Final = "memory://"
_LIVE_WINDOW_MS: Final = 1000


class _Log:
    __slots__ = ("created_ms", "data", "generation", "modified_ms", "thread_id", "writer")

    def __init__(self, thread_id: str, created_ms: int, generation: int, now_ms: int) -> None:
        self.thread_id = thread_id
        self.created_ms = created_ms
        self.generation = generation
        self.data = bytearray()
        self.modified_ms = now_ms
        self.writer: MemoryLogWriter | None = None

    @property
    def identity(self) -> str:
        return f"generation:{self.generation}"


class MemoryLogWriter:
    """``LogWriter`` over one in-memory log."""

    def __init__(self, store: MemoryLogStore, log: _Log) -> None:
        self._store = store
        self._log = log
        self._closed = False

    @property
    def position(self) -> LogPosition:
        """The end of the log."""
        return LogPosition(len(self._log.data), self._log.identity)

    def append(
        self, lines: Sequence[bytes] | bytes, *, expected: LogPosition | None = None
    ) -> LogPosition:
        """Append whole lines at ``expected``; returns the new end."""
        data = checked_append(lines, expected, self.position, closed=self._closed)
        if data:
            self._log.data += data
            self._log.modified_ms = self._store.clock_ms()
        return self.position

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """Release the log to the next writer."""
        if not self._closed:
            self._closed = True
            if self._log.writer is self:
                self._log.writer = None


class MemoryLogStore:
    """``LogStore`` in memory; locations are ``memory://sessions/…`` and ``…/archived/…``."""

    def __init__(self, *, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.clock_ms = clock_ms
        self._live: dict[str, _Log] = {}
        self._archived: dict[str, _Log] = {}
        self._names: list[tuple[str, str]] = []
        self._generations = 0

    @staticmethod
    def _location(log_id: str, created_ms: int, archived: bool) -> str:
        place = "archived" if archived else "sessions"
        return f"{_SCHEME}{place}/{created_ms:013d}-{log_id}"

    def _ref(self, log: _Log, archived: bool) -> LogRef:
        location = self._location(log.thread_id, log.created_ms, archived)
        return LogRef(
            thread_id=log.thread_id,
            location=location,
            archived=archived,
            key=location[len(_SCHEME) :],
            created_ms=log.created_ms,
        )

    def _find(self, ref: LogRef) -> _Log:
        table = self._archived if ref.archived else self._live
        log = table.get(ref.thread_id)
        if log is None or self._ref(log, ref.archived).location != ref.location:
            raise FileNotFoundError(f"no log at {ref.location}")
        return log

    def locate(self, thread_id: str, *, archived: bool | None = None) -> LogRef | None:
        """A thread's log, live first."""
        tid = parse_thread_id(thread_id)
        if archived is not True and tid in self._live:
            return self._ref(self._live[tid], False)
        if archived is not False and tid in self._archived:
            return self._ref(self._archived[tid], True)
        return None

    def allocate(self, thread_id: str, created: datetime, *, segment: bool = False) -> LogRef:
        """The ref a new log will have (nothing is created); one log per thread here."""
        if segment:
            raise SegmentsUnsupportedError("the memory store keeps one log per thread")
        tid = parse_thread_id(thread_id)
        created_ms = int(created.timestamp() * 1000)
        location = self._location(tid, created_ms, False)
        return LogRef(tid, location, False, location[len(_SCHEME) :], created_ms)

    def logs(self, *, archived: bool, after: str | None = None) -> Iterator[LogRef]:
        """Every live or archived log, in key order (after ``after``)."""
        table = self._archived if archived else self._live
        yield from in_key_order((self._ref(log, archived) for log in table.values()), after)

    def count_logs(self, *, archived: bool, after: str | None = None) -> int:
        """How many logs ``logs`` gives."""
        return count_listed(self, archived=archived, after=after)

    def segments(self, thread_id: str) -> list[LogRef]:
        """A thread's logs: here always one."""
        ref = self.locate(thread_id)
        return [] if ref is None else [ref]

    def open_writer(self, ref: LogRef, *, durability: Durability = "fsync") -> MemoryLogWriter:
        """The log's one writer; a torn last line is ended first (L4)."""
        table = self._archived if ref.archived else self._live
        log = table.get(ref.thread_id)
        if log is None:
            self._generations += 1
            log = _Log(ref.thread_id, ref.created_ms, self._generations, self.clock_ms())
            table[ref.thread_id] = log
        elif log.writer is not None:
            raise WriterLockedError(f"another writer holds {ref.location}")
        if log.data and not log.data.endswith(b"\n"):
            log.data += b"\n"
        writer = MemoryLogWriter(self, log)
        log.writer = writer
        return writer

    def append_raw(self, ref: LogRef, data: bytes) -> None:
        """Add bytes bypassing the writer (what a crash mid-write leaves); for tests."""
        self._find(ref).data += data

    def replace(self, ref: LogRef, data: bytes) -> None:
        """Replace a log by another incarnation (what rewriting a file does); for tests."""
        log = self._find(ref)
        self._generations += 1
        log.generation = self._generations
        log.data = bytearray(data)

    def touch(self, ref: LogRef, modified_ms: int) -> None:
        """Set the log's modification time (what ``os.utime`` does to a file)."""
        self._find(ref).modified_ms = modified_ms

    def read_lines(self, ref: LogRef, *, report: ReadReport | None = None) -> Iterator[ReadLine]:
        """Complete, decodable lines; the rest is reported."""
        report = report if report is not None else ReadReport()
        data = bytes(self._find(ref).data)
        stream = io.BytesIO(data)
        for raw in iter_raw_lines_from(stream, path=ref.location, report=report):
            decoded = decode_raw(raw, path=ref.location, report=report)
            if decoded is not None:
                yield decoded

    def delete(self, thread_id: str) -> int:
        """Forget the thread's log, live or archived, unless a writer holds it."""
        tid = parse_thread_id(thread_id)
        found = [table for table in (self._live, self._archived) if tid in table]
        if any(table[tid].writer is not None for table in found):
            raise WriterLockedError(f"thread {tid} has a writer")
        for table in found:
            del table[tid]
        return len(found)

    def discard_empty(self, ref: LogRef) -> bool:
        """Forget a log that holds no bytes."""
        table = self._archived if ref.archived else self._live
        log = table.get(ref.thread_id)
        if log is None or log.data or log.writer is not None:
            return False
        del table[ref.thread_id]
        return True

    def read_range(self, ref: LogRef, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the log."""
        if start < 0 or end < start:
            raise ValueError(f"bad byte range [{start}, {end})")
        return bytes(self._find(ref).data[start:end])

    def read_bytes(self, ref: LogRef, start: LogPosition | None = None) -> LogChunk:
        """The bytes after ``start`` when it belongs to this incarnation of the log."""
        log = self._find(ref)
        offset = 0
        if (
            start is not None
            and start.identity == log.identity
            and 0 <= start.offset <= len(log.data)
            and (start.offset == 0 or log.data[start.offset - 1 : start.offset] == b"\n")
        ):
            offset = start.offset
        return LogChunk(
            data=bytes(log.data[offset:]),
            offset=offset,
            identity=log.identity,
            modified_ms=log.modified_ms,
        )

    def stat(self, ref: LogRef) -> LogStat:
        """The log's size, generation and last change."""
        log = self._find(ref)
        return LogStat(len(log.data), log.identity, log.modified_ms)

    def present(self, locations: Iterable[str]) -> set[str]:
        """Which locations hold a log."""
        return {location for location in locations if self.ref_at(location) is not None}

    def ref_at(self, location: str) -> LogRef | None:
        """The log at a location it had, if it is still there."""
        for archived, table in ((False, self._live), (True, self._archived)):
            for log in table.values():
                if self._location(log.thread_id, log.created_ms, archived) == location:
                    return self._ref(log, archived)
        return None

    def _move(self, ref: LogRef, *, to_archive: bool) -> LogRef:
        source, target = (
            (self._live, self._archived) if to_archive else (self._archived, self._live)
        )
        if ref.archived == to_archive:
            place = "sessions" if to_archive else "archived"
            raise ArchiveError(f"rollout path `{ref.location}` must be in {place} directory")
        log = self._find(ref)
        if ref.thread_id in target:
            raise ArchiveError(f"rollout `{ref.location}` already exists")
        del source[ref.thread_id]
        target[ref.thread_id] = log
        if not to_archive:
            log.modified_ms = self.clock_ms()  # unarchive touches, as on files
        return self._ref(log, to_archive)

    def archive(self, ref: LogRef) -> LogRef:
        """Move a live log to the archive."""
        return self._move(ref, to_archive=True)

    def unarchive(self, ref: LogRef) -> LogRef:
        """Move an archived log back."""
        return self._move(ref, to_archive=False)

    def set_name(self, thread_id: str, name: str, updated_at: str) -> None:
        """Record a name (trimmed; an empty one is refused)."""
        self._names.append((parse_thread_id(thread_id), normalize_name(name)))

    def name_of(self, thread_id: str) -> str | None:
        """The latest name of a thread."""
        tid = parse_thread_id(thread_id)
        return next((name for t, name in reversed(self._names) if t == tid), None)

    def names_of(self, thread_ids: Iterable[str]) -> dict[str, str]:
        """The latest names of the given threads."""
        wanted = {parse_thread_id(t) for t in thread_ids}
        return {t: name for t, name in self._names if t in wanted}


class MemoryIndex:
    """``IndexStore`` in memory, with the state DB's rules for git facts and live times."""

    def __init__(self, *, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.clock_ms = clock_ms
        self._rows: dict[str, ThreadRow] = {}
        self._tools: dict[str, list[DynamicToolSpec]] = {}
        self._turns: dict[str, tuple[list[TurnSpan], LogPosition]] = {}
        self._state = BackfillState("pending", None, None, clock_ms() // 1000)

    def _unique_updated_at(self, requested_ms: int) -> int:
        if requested_ms < self.clock_ms() - _LIVE_WINDOW_MS:
            return requested_ms
        high = max((r.updated_at_ms for r in self._rows.values()), default=0)
        return max(requested_ms, high + 1)

    def upsert(self, records: Sequence[IndexEntry], *, keep_git: bool = True) -> None:
        """Insert or replace rows; known git facts stay when ``keep_git``."""
        for record in records:
            row = msgspec.structs.replace(record.row, id=parse_thread_id(record.row.id))
            old = self._rows.get(row.id)
            if (
                keep_git
                and old is not None
                and (old.git_sha or old.git_branch or old.git_origin_url)
            ):
                row = msgspec.structs.replace(
                    row,
                    git_sha=old.git_sha,
                    git_branch=old.git_branch,
                    git_origin_url=old.git_origin_url,
                )
            row = msgspec.structs.replace(
                row, updated_at_ms=self._unique_updated_at(row.updated_at_ms)
            )
            self._rows[row.id] = row
            if record.dynamic_tools and row.id not in self._tools:
                self._tools[row.id] = list(record.dynamic_tools)
            if record.turns is not None:
                spans, _ = self._turns.get(row.id, ([], LogPosition()))
                if record.turns_from > len(spans):
                    raise ValueError(f"turn spans from {record.turns_from} leave a gap")
                spans = spans[: record.turns_from] + list(record.turns)
                self._turns[row.id] = (spans, record.row.log_position)

    def get(self, thread_id: str) -> ThreadRow | None:
        """One row."""
        return self._rows.get(parse_thread_id(thread_id))

    def dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's tools."""
        tools = self._tools.get(parse_thread_id(thread_id))
        return list(tools) if tools else None

    def turn_state(self, thread_id: str) -> TurnIndexState | None:
        """What is known of a thread's turns."""
        found = self._turns.get(parse_thread_id(thread_id))
        if found is None:
            return None
        spans, position = found
        unordered = sum(1 for s in spans if s.ordinal is None)
        return TurnIndexState(len(spans), unordered, position, spans[-1] if spans else None)

    def turn_spans(self, thread_id: str) -> list[TurnSpan]:
        """All of a thread's spans."""
        return list(self._turns.get(parse_thread_id(thread_id), ([], None))[0])

    def turn_page(
        self,
        thread_id: str,
        *,
        anchor: int | None,
        include_anchor: bool,
        limit: int,
        newest_first: bool,
    ) -> list[TurnSpan]:
        """A page of spans by ordinal."""
        spans = [s for s in self.turn_spans(thread_id) if s.ordinal is not None]
        spans.sort(key=lambda s: s.ordinal or 0, reverse=newest_first)
        if anchor is not None:

            def after(s: TurnSpan) -> bool:
                o = s.ordinal or 0
                if include_anchor and o == anchor:
                    return True
                return o < anchor if newest_first else o > anchor

            spans = [s for s in spans if after(s)]
        return spans[:limit]

    def delete(self, thread_id: str) -> bool:
        """Remove a row, its tools and its turn spans."""
        tid = parse_thread_id(thread_id)
        self._tools.pop(tid, None)
        self._turns.pop(tid, None)
        return self._rows.pop(tid, None) is not None

    def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set or clear a name."""
        tid = parse_thread_id(thread_id)
        row = self._rows.get(tid)
        if row is None:
            return False
        self._rows[tid] = msgspec.structs.replace(row, name=name)
        return True

    def page(self, query: ThreadQuery) -> ThreadPage:
        """One keyset page, by ``ThreadQuery.matches`` and its order."""
        query.validate()
        if query.anchor is not None:
            parse_thread_id(query.anchor.thread_id)
        rows = [r for r in self._rows.values() if query.matches(r) and query.after_anchor(r)]
        rows.sort(
            key=lambda r: (r.sort_value(query.sort_key), r.id), reverse=query.direction == "desc"
        )
        if len(rows) <= query.limit:
            return ThreadPage(rows=rows, next_anchor=None)
        page = rows[: query.limit]
        return ThreadPage(rows=page, next_anchor=Anchor.after(page[-1], query.sort_key))

    def rows(self) -> list[ThreadRow]:
        """Every row."""
        return list(self._rows.values())

    def commit_batch(self, records: Sequence[IndexEntry], watermark: str) -> None:
        """Rows and checkpoint together (trivially atomic here)."""
        self.upsert(records)
        self._state = BackfillState("running", watermark, self._state.last_success_at, self._now())

    def _now(self) -> int:
        return self.clock_ms() // 1000

    def backfill_state(self) -> BackfillState:
        """The lease."""
        return self._state

    def claim_backfill(self, lease_seconds: int) -> bool:
        """Granted when pending, or running with a stale lease; never once complete."""
        state, now = self._state, self._now()
        if state.status == "complete":
            return False
        if state.status == "running" and state.updated_at > now - lease_seconds:
            return False
        self._state = BackfillState("running", state.last_watermark, state.last_success_at, now)
        return True

    def complete_backfill(self, watermark: str | None = None) -> None:
        """Complete, final until a reset."""
        now = self._now()
        mark = watermark if watermark is not None else self._state.last_watermark
        self._state = BackfillState("complete", mark, now, now)

    def reset_backfill(self) -> None:
        """Pending, no watermark."""
        self._state = BackfillState("pending", None, self._state.last_success_at, self._now())

    def release_backfill(self) -> None:
        """Pending again, watermark kept (only a running lease is released)."""
        state = self._state
        if state.status == "running":
            self._state = BackfillState(
                "pending", state.last_watermark, state.last_success_at, self._now()
            )

    def close(self) -> None:
        """Nothing to release."""


class MemoryLeases:
    """``ThreadLeases`` in memory (for the contract suite and host tests)."""

    def __init__(self, *, clock_ms: Callable[[], int]) -> None:
        self.clock_ms = clock_ms
        self._leases: dict[str, ThreadLease] = {}
        self._lock = threading.Lock()

    def claim(self, thread_id: str, host: str, ttl_ms: int) -> ThreadLease:
        """Own a thread (O1, O2, O5)."""
        tid = parse_thread_id(thread_id)
        now = self.clock_ms()
        with self._lock:
            held = self._leases.get(tid)
            if held is not None and held.owner != host and held.expires_at_ms > now:
                raise ThreadOwnedError(tid, held.owner, held.expires_at_ms)
            if held is None:
                epoch = 1
            elif held.owner == host and held.expires_at_ms > now:
                epoch = held.epoch
            else:
                epoch = held.epoch + 1
            lease = ThreadLease(tid, host, epoch, now + ttl_ms)
            self._leases[tid] = lease
            return lease

    def renew(self, host: str, ttl_ms: int) -> int:
        """Extend every unexpired lease of ``host`` (O3)."""
        now = self.clock_ms()
        with self._lock:
            mine = [
                t for t, held in self._leases.items()
                if held.owner == host and held.expires_at_ms > now
            ]  # fmt: skip
            for tid in mine:
                self._leases[tid] = msgspec.structs.replace(
                    self._leases[tid], expires_at_ms=now + ttl_ms
                )
            return len(mine)

    def release(self, thread_id: str, host: str) -> bool:
        """Give a thread up, if ``host`` owns it (O4)."""
        tid = parse_thread_id(thread_id)
        with self._lock:
            held = self._leases.get(tid)
            if held is None or held.owner != host or held.expires_at_ms <= self.clock_ms():
                return False
            self._leases[tid] = msgspec.structs.replace(held, expires_at_ms=0)
            return True

    def owner(self, thread_id: str) -> ThreadLease | None:
        """The thread's lease as it stands."""
        return self._leases.get(parse_thread_id(thread_id))
