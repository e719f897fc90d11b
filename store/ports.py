"""The storage ports: what threadlog needs of a log backend and of an index backend.

Derived the way eventsourcing's persistence chapter derives its recorders: first the
requirements, numbered (from DESIGN.md's invariants 2-7), then the smallest interfaces that
meet them. Every implementation (rollout files + SQLite, the in-memory ones, and later
JetStream and PostgreSQL) passes the one contract suite per port in
``threadlog.testing.contracts``; each test there names the requirement it checks.

Requirements of the log (``LogStore`` and ``LogWriter``):

* L1 Acknowledged = durable. In ``fsync`` mode ``LogWriter.append`` returns only once its
  lines would survive a crash of the machine; what it has not acknowledged may be lost,
  what it has, never.
* L2 One writer per thread. A second ``open_writer`` for a log that has one fails with
  ``WriterLockedError``; ``append`` at an expected position that is not the log's end
  fails with ``PositionConflictError`` and writes nothing, so two writers can never
  interleave lines.
* L3 Read from a position. ``read_bytes`` from a position the store gave out returns exactly
  the bytes appended after it; a position of another incarnation of the log (replaced,
  truncated) is not trusted and the read starts over from the beginning. ``read_range``
  reads just the bytes asked for (a turn of a huge log costs the turn's size).
* L4 Torn tails heal. Readers never return part of a line; opening a writer ends a torn last
  line so the next append starts on a fresh line, and no complete line is ever lost. A log
  that was created and never written (a crash before its first line) can be discarded
  (``discard_empty``); a log holding any byte never is.
* L5 Lossless. A line's bytes come back exactly as appended, kinds unknown to us included.
* L6 Archive and unarchive move a log between the live and the archived set as one step: it
  is in exactly one of them at any time, and its content and position survive the move.
* L7 Names. The latest name given to a thread wins; names are data (never a path or SQL).
* L8 Ids from outside are checked before they reach a location (``ValueError``).
* L9 Several logs per thread. A thread may have more than one log (Codex 0.169+ starts a new
  file when it reverts a thread; the new one's ``history_base`` points into the old one).
  ``locate`` and ``logs`` give each thread's newest log, once; ``segments`` gives all of
  them, oldest first; archive and unarchive move them together.
* L10 Delete is whole and asked for. ``delete`` removes every log of a thread, live or
  archived, and only when no other writer holds it (``WriterLockedError``, nothing removed);
  nothing else ever removes a log with bytes in it.
* L11 Modification times carry over. ``touch`` sets when a log last changed (``stat`` and
  ``read_bytes`` say it, a listing's ``updatedAt``), as ``os.utime`` does a file's, so a
  copy between stores keeps it; a later append supersedes it.
* L12 Logs in key order. ``logs`` gives the logs in the order of their ``key`` (a
  resumable scan's watermark), only those after ``after`` when it is given, and without
  holding every log at once where the backend can: a backfill of 100,000 files must not
  cost memory per file. ``count_logs`` says how many ``logs`` would give, with the same
  arguments, without listing them in order where the backend can (a progress's total).

Requirements of the index (``IndexStore``):

* I1 Rows are upserted whole and read back equal; a later upsert of a row replaces it,
  except that git facts already known are kept when asked (``keep_git``).
* I2 A batch of rows and its backfill checkpoint commit together or not at all.
* I3 One backfill at a time: ``claim_backfill`` grants the lease to one caller; it is
  refused while another holds a fresh lease, granted again once the lease is stale, and
  always refused once the backfill is complete, until ``reset_backfill``.
* I4 Pages are keyset pages answering ``ThreadQuery`` exactly as ``ThreadQuery.matches``
  and its order say, any depth at the cost of the first; a foreign anchor is refused.
* I5 The log position of each row (``ThreadRow.log_position``) is stored as given, so
  indexing resumes where it stopped.
* I6 Thread ids are checked before any query; names and search terms are bound data.
* I7 Turn spans. An entry upserted with ``turns`` replaces the thread's spans from
  position ``turns_from`` on and records its row's log position as theirs; one upserted
  with ``turns=None`` leaves them; deleting a row deletes them. A page of spans by ordinal
  costs the page, not the thread.

Requirements of thread ownership (``ThreadLeases``), for hosts that share a log and an
index (a single host needs none: its writer lock suffices):

* O1 One owner. ``claim`` gives a free thread (never claimed, released, or expired) to the
  caller with a new epoch; a thread owned by another host with an unexpired lease is
  refused with ``ThreadOwnedError`` naming the owner; the owner claiming again renews it.
* O2 Takeover after expiry. Once a lease has expired, another host's claim takes it over
  with the next epoch (the old owner's later writes are fenced by that epoch).
* O3 Renewal is per host. ``renew`` extends every lease of one host in one step and
  returns how many; it never touches another host's leases, nor revives an expired one.
* O4 Release is the owner's. ``release`` frees a thread only for the host that owns it.
* O5 Among racing claimants of a free thread exactly one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    IndexEntry,
    LogPosition,
    ThreadPage,
    ThreadQuery,
    ThreadRow,
    TurnIndexState,
    TurnSpan,
)
from threadlog.store.reader import ReadLine, ReadReport

Durability = Literal["none", "flush", "fsync"]
BackfillStatus = Literal["pending", "running", "complete"]


class ThreadOwnedError(RuntimeError):
    """Another host owns the thread (O1): says who, and until when."""

    def __init__(self, thread_id: str, owner: str, expires_at_ms: int) -> None:
        super().__init__(
            f"thread {thread_id} is owned by host {owner} (lease until {expires_at_ms})"
        )
        self.thread_id = thread_id
        self.owner = owner
        self.expires_at_ms = expires_at_ms


class ThreadLease(msgspec.Struct, frozen=True):
    """Who owns a thread, in which epoch, until when (Unix ms)."""

    thread_id: str
    owner: str
    epoch: int
    expires_at_ms: int


class WriterLockedError(OSError):
    """Another writer (in this or another process) holds the log (L2)."""


class PositionConflictError(OSError):
    """An append expected the log to end elsewhere: another writer moved it (L2)."""


class WriterClosedError(OSError):
    """The writer was closed, or a failed sync made it unusable (L1)."""


class LogWriteError(OSError):
    """The log could not take an append (disk full, file too large): none of its lines were
    kept, the log still ends at its last complete line, and the writer can be used again
    once the cause is gone (L1, L4)."""


class LogFencedError(LogWriteError):
    """Another writer appended to the log since this one opened it (a host whose lease was
    taken over, L2): nothing was kept, and this writer will never append again."""


class SegmentsUnsupportedError(OSError):
    """The store keeps one log per thread, so a thread cannot get a later one."""


class ArchiveError(ValueError):
    """An archive or unarchive that must not happen (wrong place, bad name, target exists)."""


def log_key(ref: LogRef) -> str:
    """What logs are ordered by (L12): their ``key``."""
    return ref.key


def in_key_order(refs: Iterable[LogRef], after: str | None = None) -> list[LogRef]:
    """``refs`` in key order, those after ``after`` only (L12), for a backend that has its
    logs as one list anyway."""
    return sorted((ref for ref in refs if after is None or ref.key > after), key=log_key)


def count_listed(store: LogStore, *, archived: bool, after: str | None = None) -> int:
    """``count_logs`` for a backend whose listing is one list anyway: the listing's length."""
    return sum(1 for _ in store.logs(archived=archived, after=after))


def checked_append(
    lines: Sequence[bytes] | bytes,
    expected: LogPosition | None,
    position: LogPosition,
    *,
    closed: bool,
) -> bytes:
    """The bytes of an append, checked as every writer checks them (L2): the writer is
    open, the append is whole lines, and the log ends where the caller expects."""
    if closed:
        raise WriterClosedError("the writer is closed")
    data = lines if isinstance(lines, bytes) else b"".join(lines)
    if data and not data.endswith(b"\n"):
        raise ValueError("an append must consist of whole lines ending in \\n")
    if expected is not None and expected != position:
        raise PositionConflictError(
            f"log ends at {position.offset}, not at the expected {expected.offset}"
        )
    return data


class LogRef(msgspec.Struct, frozen=True):
    """A thread's log as its store found or allocated it.

    ``location`` is the backend's own address (a file path for rollout files) and what
    ``Thread.path`` shows; ``key`` orders logs for a resumable scan (the backfill's
    watermark); ``created_ms`` is the creation time the location records.
    """

    thread_id: str
    location: str
    archived: bool
    key: str
    created_ms: int


class LogChunk(msgspec.Struct, frozen=True):
    """A log's bytes from ``offset`` to its end, and what the log is now.

    ``data`` may end in a torn line; ``identity`` is the log's incarnation;
    ``modified_ms`` when it last changed (a listing's ``updatedAt``).
    """

    data: bytes
    offset: int
    identity: str
    modified_ms: int


class LogStat(msgspec.Struct, frozen=True):
    """What a log is now: its size in bytes, its incarnation, when it last changed."""

    size: int
    identity: str
    modified_ms: int


class BackfillState(msgspec.Struct, frozen=True):
    """The backfill lease and its checkpoint."""

    status: BackfillStatus
    last_watermark: str | None
    last_success_at: int | None
    updated_at: int


class LogWriter(Protocol):
    """The one writer of one thread's log (L1, L2, L4)."""

    @property
    def position(self) -> LogPosition:
        """The end of the log, after everything appended (acknowledged or buffered)."""
        ...

    def append(
        self, lines: Sequence[bytes] | bytes, *, expected: LogPosition | None = None
    ) -> LogPosition:
        """Append whole lines (each ending in ``\\n``) at ``expected`` (when given).

        Returns the new end; in ``fsync`` mode only once the lines are durable.
        """
        ...

    def flush(self) -> None:
        """Make everything appended durable (buffered modes)."""

    def close(self) -> None:
        """Flush and release the log; idempotent."""


class SubmittingLogWriter(LogWriter, Protocol):
    """A writer whose appends complete on a thread of the backend's own (a network client's
    event loop): ``submit`` starts an append and returns, ``done`` is called with its result
    or its error, so no thread waits for the ack meanwhile. Same promises as ``append``."""

    def submit(
        self,
        lines: Sequence[bytes],
        expected: LogPosition | None,
        done: Callable[[LogPosition | None, BaseException | None], None],
    ) -> None:
        """Start appending ``lines``; ``done`` hears how it ended (from any thread)."""


class LogStore(Protocol):
    """Where threads' logs live (L3-L9)."""

    def locate(self, thread_id: str, *, archived: bool | None = None) -> LogRef | None:
        """A thread's log (live first, then archived, unless ``archived`` says which)."""
        ...

    def allocate(self, thread_id: str, created: datetime, *, segment: bool = False) -> LogRef:
        """The ref a new log will have; nothing exists until a writer opens it.

        ``segment``: a later log of an existing thread (L9), which ``locate`` then gives; a
        store that keeps one log per thread raises ``SegmentsUnsupportedError``.
        """
        ...

    def logs(self, *, archived: bool, after: str | None = None) -> Iterator[LogRef]:
        """Every live (or archived) thread's log (its newest, L9), in key order; those with
        a key after ``after`` only (L12)."""
        ...

    def count_logs(self, *, archived: bool, after: str | None = None) -> int:
        """How many logs ``logs`` gives with the same arguments (L12)."""
        ...

    def segments(self, thread_id: str) -> list[LogRef]:
        """All of a thread's logs, oldest first; the last is what ``locate`` gives (L9)."""
        ...

    def open_writer(self, ref: LogRef, *, durability: Durability = "fsync") -> LogWriter:
        """The log's one writer, creating the log when it does not exist."""
        ...

    def read_lines(self, ref: LogRef, *, report: ReadReport | None = None) -> Iterator[ReadLine]:
        """The log's complete, decodable lines in order; what is skipped goes to ``report``."""
        ...

    def read_bytes(self, ref: LogRef, start: LogPosition | None = None) -> LogChunk:
        """The log's bytes after ``start`` (from the beginning when it is foreign)."""
        ...

    def delete(self, thread_id: str) -> int:
        """Remove every log of a thread (L10); how many were removed."""
        ...

    def discard_empty(self, ref: LogRef) -> bool:
        """Remove a log that holds no bytes at all (left by a crash between creating it and
        its first write); False, and nothing done, when it holds any or is being written."""
        ...

    def read_range(self, ref: LogRef, start: int, end: int) -> bytes:
        """The log's bytes ``[start, end)`` (fewer when it is shorter), nothing else read (L3)."""
        ...

    def stat(self, ref: LogRef) -> LogStat:
        """The log's size, identity and modification time (``FileNotFoundError`` if gone)."""
        ...

    def ref_at(self, location: str) -> LogRef | None:
        """The log still at a location an index row recorded, or None when it is gone."""
        ...

    def touch(self, ref: LogRef, modified_ms: int) -> None:
        """Set when the log last changed (L11)."""

    def present(self, locations: Iterable[str]) -> set[str]:
        """Which of ``locations`` ``ref_at`` would find a log at (a listing asks it of a
        page's rows, the index sync of a batch's: at once, not a round trip each)."""
        ...

    def archive(self, ref: LogRef) -> LogRef:
        """Move a live log to the archived set; returns its new ref."""
        ...

    def unarchive(self, ref: LogRef) -> LogRef:
        """Move an archived log back to the live set; returns its new ref."""
        ...

    def set_name(self, thread_id: str, name: str, updated_at: str) -> None:
        """Record a thread's name (the latest wins)."""

    def name_of(self, thread_id: str) -> str | None:
        """A thread's current name."""
        ...

    def names_of(self, thread_ids: Iterable[str]) -> dict[str, str]:
        """The current names of the given threads (ids without a name are absent)."""
        ...


class IndexStore(Protocol):
    """The index of threads: rows, pages, dynamic tools, the backfill lease, turn spans (I1-I7)."""

    def upsert(self, records: Sequence[IndexEntry], *, keep_git: bool = True) -> None:
        """Insert or replace rows and record each thread's dynamic tools once, atomically."""

    def get(self, thread_id: str) -> ThreadRow | None:
        """One thread's row."""
        ...

    def dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools in declaration order (None when it declared none)."""
        ...

    def turn_state(self, thread_id: str) -> TurnIndexState | None:
        """What is known of a thread's turns; None when none were ever upserted (I7)."""
        ...

    def turn_spans(self, thread_id: str) -> list[TurnSpan]:
        """All of a thread's turn spans in order (I7)."""
        ...

    def turn_page(
        self,
        thread_id: str,
        *,
        anchor: int | None,
        include_anchor: bool,
        limit: int,
        newest_first: bool,
    ) -> list[TurnSpan]:
        """Up to ``limit`` spans by ordinal, after ``anchor`` in the order asked (I7)."""
        ...

    def delete(self, thread_id: str) -> bool:
        """Remove a thread's row and tools; False when there was none."""
        ...

    def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set or clear a thread's name; False when there is no such row."""
        ...

    def page(self, query: ThreadQuery) -> ThreadPage:
        """One keyset page of a listing."""
        ...

    def rows(self) -> list[ThreadRow]:
        """Every row (verification and repair, not listing)."""
        ...

    def commit_batch(self, records: Sequence[IndexEntry], watermark: str) -> None:
        """Upsert a backfill batch and checkpoint its watermark in one transaction."""

    def backfill_state(self) -> BackfillState:
        """The lease and its checkpoint."""
        ...

    def claim_backfill(self, lease_seconds: int) -> bool:
        """Take the backfill lease; True when this caller now owns it."""
        ...

    def complete_backfill(self, watermark: str | None = None) -> None:
        """The backfill finished: complete is final until a reset."""

    def reset_backfill(self) -> None:
        """Back to pending with no watermark (a full replay starts over)."""

    def release_backfill(self) -> None:
        """Give the lease back unfinished (the next worker resumes from the watermark)."""

    def close(self) -> None:
        """Release the backend's resources."""


@runtime_checkable
class ThreadLeases(Protocol):
    """Which host owns which thread (O1-O5)."""

    def claim(self, thread_id: str, host: str, ttl_ms: int) -> ThreadLease:
        """Own the thread until now + ``ttl_ms``; ``ThreadOwnedError`` if another host does."""
        ...

    def renew(self, host: str, ttl_ms: int) -> int:
        """Extend every unexpired lease of ``host``; how many were extended."""
        ...

    def release(self, thread_id: str, host: str) -> bool:
        """Give a thread up; False when ``host`` did not own it."""
        ...

    def owner(self, thread_id: str) -> ThreadLease | None:
        """The thread's lease as it stands (expired ones too), or None."""
        ...
