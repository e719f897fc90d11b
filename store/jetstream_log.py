"""``LogStore`` on NATS JetStream: one stream per deployment, one subject per thread.

The layout (subjects, records, locations) is ``jetstream_names``; the requests are
``jetstream_client``; the stream and its durability check ``jetstream_stream``; reading
from a position ``jetstream_reads``; the writer and its fence ``jetstream_writer``. A log is
the concatenation of its subject's messages, so positions are byte offsets as in a file and
every reader of the port (the index syncer, replay, turn pages) works unchanged.

Durable means durable (L1): a store opened for ``fsync`` refuses a stream that would
acknowledge appends before they are on disk (``DurabilityError``, saying why).

One log per thread (no segments). One writer per thread per process (L2); between hosts the
lease decides who writes and the writer's sequence fence refuses whoever else tries.
"""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rows import LogPosition
from threadlog.store.clock import wall_clock_ms
from threadlog.store.jetstream_client import (
    WRONG_LAST_SEQUENCE,
    JetStreamClient,
    JetStreamError,
    StoredMsg,
    retried,
)
from threadlog.store.jetstream_names import (
    OFFSET_HEADER,
    CatalogRecord,
    JetStreamTarget,
    catalog_subject,
    count_of,
    location_of,
    message_id,
    names_subject,
    parse_location,
    parse_target,
    thread_subject,
)
from threadlog.store.jetstream_reads import SubjectReads, end_of
from threadlog.store.jetstream_stream import check_durable, ensure_stream
from threadlog.store.jetstream_writer import JetStreamLogWriter
from threadlog.store.names import normalize_name
from threadlog.store.nats_link import NatsLink
from threadlog.store.ports import (
    ArchiveError,
    Durability,
    LogChunk,
    LogRef,
    LogStat,
    SegmentsUnsupportedError,
    WriterLockedError,
    count_listed,
    in_key_order,
)
from threadlog.store.reader import ReadLine, ReadReport, decode_raw, iter_raw_lines_from

T = TypeVar("T")
HEADROOM: Final = 4096  # bytes of a message left for its headers
REMEMBERED: Final = 65_536  # positions kept for the next read
FEW_NAMES: Final = 64  # above this, names are read by one scan instead of one get each

_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(CatalogRecord).decode


class _Name(msgspec.Struct, frozen=True):
    name: str
    updated_at: str


_decode_name = msgspec.json.Decoder(_Name).decode


def _modified(catalog: StoredMsg, record: CatalogRecord, last: StoredMsg | None) -> int:
    """When the log last changed: its last line, unless the catalog set a time since."""
    if last is not None and (not record.modified_ms or last.seq > catalog.seq):
        return last.time_ms
    return record.modified_ms or catalog.time_ms


class JetStreamLogStore:
    """Threads' logs on one JetStream stream (``nats://`` locations)."""

    def __init__(
        self,
        target: JetStreamTarget | str,
        *,
        durability: Durability = "fsync",
        link: NatsLink | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        """Connect (or use ``link``), create the stream when missing, check durability."""
        self.target = parse_target(target) if isinstance(target, str) else target
        self.clock_ms = clock_ms
        self._owns_link = link is None
        self.link = link or NatsLink(self.target.servers)
        self.client = JetStreamClient(self.link.nc, self.target.stream)
        self.chunk_size = max(1024, self.link.nc.max_payload - HEADROOM)
        self._writers: dict[str, JetStreamLogWriter] = {}
        self.chain_breaks = 0
        self._lock = threading.Lock()
        self.reads = SubjectReads(self.client)
        try:
            config = self._run(ensure_stream(self.client, self.target))
            if durability == "fsync":
                check_durable(config, self.target)
        except BaseException:
            self.close()
            raise

    # --- set-up --------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.link.call(coro)

    def close(self) -> None:
        """Close the connection (when this store made it)."""
        if self._owns_link:
            self.link.close()

    # --- refs ----------------------------------------------------------------------------

    def subject_of(self, thread_id: str) -> str:
        """The subject of a thread's lines."""
        return thread_subject(self.target.prefix, thread_id)

    def identity_of(self, incarnation: str) -> str:
        """A log incarnation's identity (what positions carry)."""
        return f"jetstream:{incarnation}"

    def _ref(self, thread_id: str, record: CatalogRecord) -> LogRef:
        location = location_of(self.target.stream, thread_id, record.created_ms, record.archived)
        return LogRef(
            thread_id, location, record.archived, location[len("nats://") :], record.created_ms
        )

    def _record(self, thread_id: str) -> tuple[StoredMsg, CatalogRecord] | None:
        msg = self._run(self.client.last(catalog_subject(self.target.prefix, thread_id)))
        return None if msg is None else (msg, _decode_record(msg.data))

    def _found(self, ref: LogRef) -> tuple[StoredMsg, CatalogRecord]:
        found = self._record(parse_thread_id(ref.thread_id))
        if found is None or self._ref(ref.thread_id, found[1]).location != ref.location:
            raise FileNotFoundError(f"no log at {ref.location}")
        return found

    def locate(self, thread_id: str, *, archived: bool | None = None) -> LogRef | None:
        """A thread's log (it is live or archived, never both)."""
        tid = parse_thread_id(thread_id)
        found = self._record(tid)
        if found is None or (archived is not None and found[1].archived != archived):
            return None
        return self._ref(tid, found[1])

    def allocate(self, thread_id: str, created: datetime, *, segment: bool = False) -> LogRef:
        """The ref a new log will have; nothing exists until a writer opens it."""
        if segment:
            raise SegmentsUnsupportedError("the JetStream store keeps one log per thread")
        tid = parse_thread_id(thread_id)
        created_ms = int(created.timestamp() * 1000)
        location = location_of(self.target.stream, tid, created_ms, False)
        return LogRef(tid, location, False, location[len("nats://") :], created_ms)

    def logs(self, *, archived: bool, after: str | None = None) -> Iterator[LogRef]:
        """Every live (or archived) thread's log, from one scan of the catalog, in key
        order (after ``after``); the catalog's answer is one list anyway."""
        wildcard = f"{self.target.prefix}.catalog.*"
        refs = [
            self._ref(subject.rsplit(".", 1)[1], record)
            for subject, msg in self._run(self.client.last_per_subject(wildcard))
            if (record := _decode_record(msg.data)).archived == archived
        ]
        yield from in_key_order(refs, after)

    def count_logs(self, *, archived: bool, after: str | None = None) -> int:
        """How many logs ``logs`` gives (one scan of the catalog)."""
        return count_listed(self, archived=archived, after=after)

    def segments(self, thread_id: str) -> list[LogRef]:
        """A thread's logs: here always one."""
        ref = self.locate(thread_id)
        return [] if ref is None else [ref]

    def ref_at(self, location: str) -> LogRef | None:
        """The log still at ``location``, if it is."""
        parts = parse_location(location)
        if parts is None or parts.stream != self.target.stream:
            return None
        ref = self.locate(parts.thread_id, archived=parts.archived)
        return ref if ref is not None and ref.location == location else None

    def present(self, locations: Iterable[str]) -> set[str]:
        """Which locations hold a log: those this process writes, and the others' catalog
        records, read concurrently (the index sync asks it of every row it writes)."""
        with self._lock:
            held = {
                ref.location for w in self._writers.values() if (ref := getattr(w, "ref", None))
            }
        asked = set(locations)
        out = asked & held  # a writer's log cannot go: a delete waits for it, and it is leased
        wanted = [
            (location, parts)
            for location in asked - held
            if (parts := parse_location(location)) is not None
            and parts.stream == self.target.stream
        ]
        if not wanted:
            return out
        p = self.target.prefix

        async def records() -> list[StoredMsg | None]:
            gets = (self.client.last(catalog_subject(p, parts.thread_id)) for _, parts in wanted)
            return list(await asyncio.gather(*gets))

        for (location, parts), msg in zip(wanted, self._run(records()), strict=True):
            if msg is not None:
                record = _decode_record(msg.data)
                if self._ref(parts.thread_id, record).location == location:
                    out.add(location)
        return out

    # --- writing -------------------------------------------------------------------------

    def open_writer(self, ref: LogRef, *, durability: Durability = "fsync") -> JetStreamLogWriter:
        """The log's one writer in this process, creating the log's record when new."""
        tid = parse_thread_id(ref.thread_id)
        with self._lock:
            if tid in self._writers:
                raise WriterLockedError(f"another writer holds {ref.location}")
            self._writers[tid] = placeholder = JetStreamLogWriter.__new__(JetStreamLogWriter)
        try:
            found = self._record(tid)
            if found is None:
                record = CatalogRecord(ref.created_ms, ref.archived, uuid.uuid4().hex[:16])
                found = self._create(tid, record)
            record = found[1]
            last = self._run(self.client.last(self.subject_of(tid)))
            writer = JetStreamLogWriter(self, self._ref(tid, record), record.incarnation, last)
            writer.heal()
        except BaseException:
            with self._lock:
                del self._writers[tid]
            raise
        with self._lock:
            if self._writers.get(tid) is placeholder:
                self._writers[tid] = writer
        return writer

    def _create(self, tid: str, record: CatalogRecord) -> tuple[StoredMsg, CatalogRecord]:
        subject = catalog_subject(self.target.prefix, tid)
        headers = {"Nats-Expected-Last-Subject-Sequence": "0"}
        try:
            self._publish(subject, _encode(record), headers)
        except JetStreamError as exc:
            if exc.err_code != WRONG_LAST_SEQUENCE:
                raise
        found = self._record(tid)  # ours, or the one another host created first
        assert found is not None
        return found

    def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        """One catalog or name message, retried through lost acks (a retry of one that
        had landed is refused by its fence, and the caller reads back what is there)."""
        self._run(retried(self.client.publish)(subject, [body], [headers]))

    def release(self, writer: JetStreamLogWriter) -> None:
        """Forget a closed writer (the next one may open)."""
        with self._lock:
            if self._writers.get(writer.ref.thread_id) is writer:
                del self._writers[writer.ref.thread_id]

    def remember(self, subject: str, incarnation: str, offset: int, seq: int) -> None:
        """The message ending at ``offset`` has sequence ``seq``: the next read starts after."""
        self.reads.remember(subject, incarnation, offset, seq)

    # --- reading -------------------------------------------------------------------------

    def read_bytes(self, ref: LogRef, start: LogPosition | None = None) -> LogChunk:
        """The log's bytes after ``start`` (from the beginning when it is foreign)."""
        catalog, record = self._found(ref)
        subject = self.subject_of(ref.thread_id)
        identity = self.identity_of(record.incarnation)
        return self._run(
            self.reads.chunk(
                subject, record.incarnation, identity, start,
                lambda last: _modified(catalog, record, last),
            )
        )  # fmt: skip

    def read_lines(self, ref: LogRef, *, report: ReadReport | None = None) -> Iterator[ReadLine]:
        """The log's complete, decodable lines; the rest is reported."""
        report = report if report is not None else ReadReport()
        stream = io.BytesIO(self.read_bytes(ref).data)
        for raw in iter_raw_lines_from(stream, path=ref.location, report=report):
            decoded = decode_raw(raw, path=ref.location, report=report)
            if decoded is not None:
                yield decoded

    def read_range(self, ref: LogRef, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the log: the messages holding them, nothing else."""
        if start < 0 or end < start:
            raise ValueError(f"bad byte range [{start}, {end})")
        self._found(ref)
        return self._run(self.reads.part(self.subject_of(ref.thread_id), start, end))

    def stat(self, ref: LogRef) -> LogStat:
        """The log's size, incarnation and last change."""
        catalog, record = self._found(ref)
        last = self._run(self.client.last(self.subject_of(ref.thread_id)))
        modified = _modified(catalog, record, last)
        return LogStat(end_of(last), self.identity_of(record.incarnation), modified)

    def touch(self, ref: LogRef, modified_ms: int) -> None:
        """Set the log's modification time (what ``os.utime`` does to a file)."""
        msg, record = self._found(ref)
        self._republish(ref, msg, msgspec.structs.replace(record, modified_ms=modified_ms))

    def _republish(self, ref: LogRef, msg: StoredMsg, record: CatalogRecord) -> None:
        """A new catalog record, if nobody changed the thread's since ``msg``."""
        headers = {"Nats-Expected-Last-Subject-Sequence": str(msg.seq)}
        subject = catalog_subject(self.target.prefix, ref.thread_id)
        try:
            self._publish(subject, _encode(record), headers)
        except JetStreamError as exc:
            if exc.err_code != WRONG_LAST_SEQUENCE:
                raise
            now = self._record(ref.thread_id)
            if now is None or now[1] != record:  # not ours landing on a retry: a rival's
                raise ArchiveError(f"rollout `{ref.location}` was changed meanwhile") from exc

    # --- removing ------------------------------------------------------------------------

    def delete(self, thread_id: str) -> int:
        """Remove the thread's log (L10), unless a writer of this process holds it."""
        tid = parse_thread_id(thread_id)
        if tid in self._writers:
            raise WriterLockedError(f"thread {tid} has a writer")
        found = self._record(tid)
        self._run(self.client.purge(self.subject_of(tid)))
        self._run(self.client.purge(catalog_subject(self.target.prefix, tid)))
        return 0 if found is None else 1

    def discard_empty(self, ref: LogRef) -> bool:
        """Remove a log that holds no message and has no writer."""
        tid = parse_thread_id(ref.thread_id)
        if tid in self._writers or self._record(tid) is None:
            return False
        if self._run(self.client.last(self.subject_of(tid))) is not None:
            return False
        self._run(self.client.purge(catalog_subject(self.target.prefix, tid)))
        return True

    # --- archive -------------------------------------------------------------------------

    def _move(self, ref: LogRef, *, to_archive: bool) -> LogRef:
        if ref.archived == to_archive:
            place = "sessions" if to_archive else "archived"
            raise ArchiveError(f"rollout path `{ref.location}` must be in {place} directory")
        msg, record = self._found(ref)
        if to_archive:  # a rename keeps a file's mtime: keep the log's
            last = self._run(self.client.last(self.subject_of(ref.thread_id)))
            modified = _modified(msg, record, last)
        else:  # unarchiving touches the file (Codex's own rule)
            modified = self.clock_ms()
        moved = msgspec.structs.replace(record, archived=to_archive, modified_ms=modified)
        self._republish(ref, msg, moved)
        return self._ref(ref.thread_id, moved)

    def archive(self, ref: LogRef) -> LogRef:
        """Move a live log to the archive (one catalog record)."""
        return self._move(ref, to_archive=True)

    def unarchive(self, ref: LogRef) -> LogRef:
        """Move an archived log back."""
        return self._move(ref, to_archive=False)

    # --- names ---------------------------------------------------------------------------

    def set_name(self, thread_id: str, name: str, updated_at: str) -> None:
        """Record a name (the latest wins)."""
        tid = parse_thread_id(thread_id)
        body = _encode(_Name(normalize_name(name), updated_at))
        self._publish(names_subject(self.target.prefix, tid), body, {})

    def name_of(self, thread_id: str) -> str | None:
        """A thread's latest name."""
        tid = parse_thread_id(thread_id)
        msg = self._run(self.client.last(names_subject(self.target.prefix, tid)))
        return None if msg is None else _decode_name(msg.data).name

    def names_of(self, thread_ids: Iterable[str]) -> dict[str, str]:
        """The latest names of the given threads."""
        wanted = sorted({parse_thread_id(t) for t in thread_ids})
        if not wanted:
            return {}
        p = self.target.prefix
        if len(wanted) <= FEW_NAMES:

            async def each() -> list[StoredMsg | None]:
                gets = (self.client.last(names_subject(p, t)) for t in wanted)
                return list(await asyncio.gather(*gets))

            found = zip(wanted, self._run(each()), strict=True)
            return {t: _decode_name(m.data).name for t, m in found if m is not None}
        every = self._run(self.client.last_per_subject(f"{p}.names.*"))
        keep = set(wanted)
        out = {}
        for subject, msg in every:
            tid = subject.rsplit(".", 1)[1]
            if tid in keep:
                out[tid] = _decode_name(msg.data).name
        return out

    # --- for tests -----------------------------------------------------------------------

    def publish_raw(self, ref: LogRef, data: bytes) -> None:
        """Add a message bypassing the writer (what a buggy writer could leave)."""
        subject = self.subject_of(ref.thread_id)
        last = self._run(self.client.last(subject))
        count = 0 if last is None else count_of(last.headers.get("Nats-Msg-Id"))
        headers = {
            OFFSET_HEADER: str(end_of(last)),
            "Nats-Msg-Id": message_id(ref.thread_id, "raw", count + 1, "raw"),
        }
        self._run(self.client.publish(subject, [data], [headers]))

    def replace(self, ref: LogRef, data: bytes) -> None:
        """Replace a log by another incarnation holding ``data`` (for tests)."""
        msg, record = self._found(ref)
        tid = ref.thread_id
        self._run(self.client.purge(self.subject_of(tid)))
        fresh = msgspec.structs.replace(record, incarnation=uuid.uuid4().hex[:16])
        self._republish(ref, msg, fresh)
        writer = self.open_writer(self._ref(tid, fresh))
        try:
            writer.append(data)
        finally:
            writer.close()
