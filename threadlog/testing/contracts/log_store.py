"""The contract of ``LogStore`` and ``LogWriter`` (requirements L1-L12 of ``store.ports``)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlog.events import RolloutLine, SessionMeta, encode_line
from threadlog.events.event_msgs import AgentMessage, UserMessage
from threadlog.events.ids import Uuid7Generator
from threadlog.events.rows import LogPosition
from threadlog.store.ports import (
    ArchiveError,
    LogRef,
    LogStore,
    PositionConflictError,
    WriterLockedError,
)
from threadlog.store.reader import ReadReport
from threadlog.testing.vocabulary import rollout_lines, unknown_lines

CREATED = datetime(2026, 3, 1, 12, 0, 0)
STAMP = "2026-03-01T12:00:00.000Z"
BAD_IDS = ("../../etc/passwd", "1 OR 1=1", "{01a20ab1-0ea2-7d20-b9b7-cee0ff50827c}", "", "x" * 36)


def line(text: str) -> bytes:
    """One encoded rollout line holding an agent message."""
    return encode_line(RolloutLine(STAMP, AgentMessage(message=text)))


def meta_line(thread_id: str) -> bytes:
    """The ``session_meta`` line of a thread."""
    return encode_line(RolloutLine(STAMP, SessionMeta(id=thread_id, timestamp=STAMP, cwd="/w")))


class LogStoreContract:
    """Subclass and implement ``make_store``; the fault hooks say how to hurt a log."""

    def make_store(self, root: Path) -> LogStore:
        """A fresh, empty store keeping its data under ``root`` (if it keeps any)."""
        raise NotImplementedError

    def reopen(self, store: LogStore, root: Path) -> LogStore:
        """A new store over the same data, as after a restart (in memory: the same store)."""
        return store

    def tear(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        """Leave ``data`` at the end of the log, as a writer killed mid-line would."""
        raise NotImplementedError

    def replace(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        """Replace the log by another incarnation holding ``data``."""
        raise NotImplementedError

    def add_segment(self, store: LogStore, ref: LogRef, data: bytes) -> LogRef | None:
        """Give the thread of ``ref`` a newer log holding ``data`` (as a Codex revert does);
        None for a backend that keeps one log per thread."""
        return None

    # --- helpers -------------------------------------------------------------------------

    def fresh(self) -> tuple[LogStore, Path]:
        """A store on a new temporary root (usable inside hypothesis examples)."""
        root = Path(tempfile.mkdtemp(prefix="threadlog-contract-"))
        return self.make_store(root), root

    @staticmethod
    def new_id(n: int = 0) -> str:
        """A thread id (UUIDv7) unique within a test."""
        return Uuid7Generator(clock_ms=lambda: 1_772_366_400_000 + n)()

    def written(self, store: LogStore, lines: list[bytes], n: int = 0) -> LogRef:
        """A new log holding ``lines``."""
        ref = store.allocate(self.new_id(n), CREATED)
        writer = store.open_writer(ref, durability="fsync")
        try:
            writer.append(lines)
        finally:
            writer.close()
        found = store.locate(ref.thread_id)
        assert found is not None
        return found

    @staticmethod
    def contents(store: LogStore, ref: LogRef) -> list[bytes]:
        """The raw bytes of every good line."""
        return [r.line.raw or b"" for r in store.read_lines(ref)]

    # --- L8: ids are checked -------------------------------------------------------------

    @pytest.mark.parametrize("bad", BAD_IDS)
    def test_l8_ids_from_outside_are_checked(self, bad: str) -> None:
        store, _ = self.fresh()
        with pytest.raises(ValueError):
            store.locate(bad)
        with pytest.raises(ValueError):
            store.allocate(bad, CREATED)
        with pytest.raises(ValueError):
            store.set_name(bad, "name", "now")

    # --- creation and L5: lossless -------------------------------------------------------

    def test_an_allocated_log_does_not_exist_until_written(self) -> None:
        store, _ = self.fresh()
        ref = store.allocate(self.new_id(), CREATED)
        assert store.locate(ref.thread_id) is None
        assert list(store.logs(archived=False)) == []
        writer = store.open_writer(ref)
        writer.close()
        assert store.locate(ref.thread_id) == ref
        assert [r.thread_id for r in store.logs(archived=False)] == [ref.thread_id]

    @settings(
        max_examples=25,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(st.lists(st.one_of(rollout_lines().map(encode_line), unknown_lines()), max_size=12))
    def test_l5_lines_come_back_byte_for_byte(self, lines: list[bytes]) -> None:
        store, _ = self.fresh()
        encoded = [data if data.endswith(b"\n") else data + b"\n" for data in lines]
        ref = self.written(store, encoded)
        assert [raw + b"\n" for raw in self.contents(store, ref)] == encoded
        assert store.read_bytes(ref).data == b"".join(encoded)

    # --- L1: acknowledged = durable ------------------------------------------------------

    def test_l1_acknowledged_lines_survive_a_restart(self) -> None:
        store, root = self.fresh()
        ref = store.allocate(self.new_id(), CREATED)
        writer = store.open_writer(ref, durability="fsync")
        end = writer.append([meta_line(ref.thread_id), line("one")])
        writer.append(line("two"), expected=end)
        writer.close()
        again = self.reopen(store, root)
        found = again.locate(ref.thread_id)
        assert found is not None
        assert self.contents(again, found)[1:] == [line("one")[:-1], line("two")[:-1]]

    # --- L2: one writer ------------------------------------------------------------------

    def test_l2_a_second_writer_is_refused(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        first = store.open_writer(ref)
        try:
            with pytest.raises(WriterLockedError):
                store.open_writer(ref)
        finally:
            first.close()
        second = store.open_writer(ref)  # released: the next writer may open
        second.close()

    def test_l2_an_append_at_a_stale_position_writes_nothing(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        writer = store.open_writer(ref)
        try:
            start = writer.position
            moved = writer.append(line("b"), expected=start)
            assert moved.offset == start.offset + len(line("b"))
            with pytest.raises(PositionConflictError):
                writer.append(line("c"), expected=start)
            assert writer.position == moved
        finally:
            writer.close()
        assert self.contents(store, ref) == [line("a")[:-1], line("b")[:-1]]

    def test_l2_appends_must_be_whole_lines(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        writer = store.open_writer(ref)
        try:
            with pytest.raises(ValueError):
                writer.append(b'{"no newline":1}')
        finally:
            writer.close()
        assert self.contents(store, ref) == [line("a")[:-1]]

    # --- L3: read from a position --------------------------------------------------------

    @settings(
        max_examples=20,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(st.lists(st.lists(st.text(max_size=8), min_size=1, max_size=3), min_size=1, max_size=5))
    def test_l3_a_position_reads_exactly_what_came_after(self, batches: list[list[str]]) -> None:
        store, _ = self.fresh()
        ref = store.allocate(self.new_id(), CREATED)
        writer = store.open_writer(ref)
        positions: list[tuple[LogPosition, bytes]] = [(writer.position, b"")]
        try:
            for batch in batches:
                data = b"".join(line(text) for text in batch)
                end = writer.append(data, expected=positions[-1][0])
                positions.append((end, positions[-1][1] + data))
        finally:
            writer.close()
        found = store.locate(ref.thread_id)
        assert found is not None
        everything = positions[-1][1]
        for position, before in positions:
            chunk = store.read_bytes(found, position)
            assert chunk.offset == position.offset == len(before)
            assert chunk.data == everything[len(before) :]
            assert chunk.identity == position.identity

    def test_l3_a_byte_range_reads_just_those_bytes(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a"), line("bb"), line("ccc")])
        whole = store.read_bytes(ref).data
        assert store.read_range(ref, 0, len(whole)) == whole
        assert store.read_range(ref, 3, 9) == whole[3:9]
        assert store.read_range(ref, len(whole) - 2, len(whole) + 50) == whole[-2:]
        assert store.read_range(ref, 5, 5) == b""
        with pytest.raises(ValueError):
            store.read_range(ref, 9, 3)
        with pytest.raises(ValueError):
            store.read_range(ref, -1, 3)

    def test_l3_a_foreign_position_starts_over(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a"), line("b")])
        end = store.read_bytes(ref).offset + len(store.read_bytes(ref).data)
        good = LogPosition(end, store.stat(ref).identity)
        assert store.read_bytes(ref, good).data == b""
        for foreign in (
            LogPosition(end, "another-incarnation"),
            LogPosition(end + 100, good.identity),
            LogPosition(3, good.identity),  # not after a newline
        ):
            chunk = store.read_bytes(ref, foreign)
            assert chunk.offset == 0 and chunk.data == line("a") + line("b")
        self.replace(store, ref, line("x"))
        again = store.locate(ref.thread_id)
        assert again is not None
        replaced = store.read_bytes(again, LogPosition(len(line("x")), good.identity))
        assert replaced.offset == 0 and replaced.data == line("x")
        assert replaced.identity != good.identity

    # --- L4: torn tails heal -------------------------------------------------------------

    def test_l4_a_torn_tail_is_never_read_and_heals_on_open(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        self.tear(store, ref, b'{"timestamp":"2026-03-01T12:00:00.000Z","type":"event_ms')
        report = ReadReport()
        assert [r.line.raw for r in store.read_lines(ref, report=report)] == [line("a")[:-1]]
        assert report.torn_tail is not None
        writer = store.open_writer(ref)
        try:
            writer.append(line("b"))
        finally:
            writer.close()
        healed = ReadReport()
        assert self.contents(store, ref) == [line("a")[:-1], line("b")[:-1]]
        list(store.read_lines(ref, report=healed))
        assert healed.torn_tail is None and healed.bad_lines == 1  # the fragment is kept

    # --- L6: archive ---------------------------------------------------------------------

    def test_l6_archive_and_unarchive_move_the_log_whole(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [meta_line(self.new_id()), line("a")])
        before = store.read_bytes(ref)
        position = LogPosition(len(before.data), before.identity)
        archived = store.archive(ref)
        assert archived.archived and archived.thread_id == ref.thread_id
        assert store.locate(ref.thread_id, archived=False) is None
        assert store.locate(ref.thread_id) == archived
        assert [r.thread_id for r in store.logs(archived=True)] == [ref.thread_id]
        assert list(store.logs(archived=False)) == []
        assert store.read_bytes(archived, position).data == b""  # the position survives
        with pytest.raises(ArchiveError):
            store.archive(archived)
        back = store.unarchive(archived)
        assert not back.archived and store.locate(ref.thread_id, archived=True) is None
        assert store.read_bytes(back).data == before.data
        with pytest.raises(ArchiveError):
            store.unarchive(back)

    def test_l6_a_location_resolves_while_the_log_is_there(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        assert store.ref_at(ref.location) == ref
        assert store.present([ref.location, "/nowhere/x.jsonl"]) == {ref.location}
        moved = store.archive(ref)
        assert store.ref_at(ref.location) is None
        assert store.present([ref.location, moved.location]) == {moved.location}
        assert store.ref_at(moved.location) == moved
        assert store.ref_at("/nowhere/rollout-x.jsonl") is None
        assert store.present(["/nowhere/rollout-x.jsonl", "nats://x/sessions/1", ""]) == set()

    # --- L9: several logs per thread -----------------------------------------------------

    def test_l9_a_thread_is_read_from_its_newest_log_and_listed_once(self) -> None:
        store, _ = self.fresh()
        first = self.written(store, [line("old")])
        tid = first.thread_id
        assert store.segments(tid) == [first]
        newer = self.add_segment(store, first, meta_line(tid) + b"\n" + line("new") + b"\n")
        expected = [first] if newer is None else [first, newer]
        assert store.segments(tid) == expected
        assert store.locate(tid) == expected[-1]
        assert [r.thread_id for r in store.logs(archived=False)] == [tid]
        archived = store.archive(expected[-1])
        assert [r.location for r in store.segments(tid)][-1] == archived.location
        assert len(store.segments(tid)) == len(expected) and list(store.logs(archived=False)) == []
        back = store.unarchive(archived)
        assert store.locate(tid) == back and len(store.segments(tid)) == len(expected)

    # --- L10: delete -------------------------------------------------------------------

    def test_l10_delete_removes_every_log_of_the_thread_and_nothing_else(self) -> None:
        store, _ = self.fresh()
        first = self.written(store, [line("old")], 1)
        kept = self.written(store, [line("other")], 2)
        tid = first.thread_id
        newer = self.add_segment(store, first, meta_line(tid) + b"\n" + line("new") + b"\n")
        store.archive(newer if newer is not None else first)
        assert store.delete(tid) == (2 if newer is not None else 1)
        assert store.locate(tid) is None and store.segments(tid) == []
        assert list(store.logs(archived=True)) == []
        assert [r.thread_id for r in store.logs(archived=False)] == [kept.thread_id]
        assert self.contents(store, kept) == [line("other")[:-1]]
        assert store.delete(tid) == 0  # gone already: nothing to do

    def test_l10_a_thread_being_written_is_not_deleted(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("busy")])
        writer = store.open_writer(ref, durability="fsync")
        try:
            with pytest.raises(WriterLockedError):
                store.delete(ref.thread_id)
        finally:
            writer.close()
        assert self.contents(store, ref) == [line("busy")[:-1]]
        with pytest.raises(ValueError):
            store.delete("../escape")

    def test_only_an_empty_log_nobody_writes_is_discarded(self) -> None:
        store, _ = self.fresh()
        ref = store.allocate(self.new_id(), CREATED)
        writer = store.open_writer(ref, durability="fsync")  # created, nothing written yet
        assert not store.discard_empty(ref)  # its writer is still there
        writer.close()
        assert store.discard_empty(ref) and store.locate(ref.thread_id) is None
        kept = self.written(store, [line("a")])
        assert not store.discard_empty(kept) and store.locate(kept.thread_id) == kept

    # --- L11: modification times carry over ---------------------------------------------

    def test_l11_a_set_modification_time_holds_until_the_next_append(self) -> None:
        store, _ = self.fresh()
        ref = self.written(store, [line("a")])
        past = 1_600_000_000_000  # 2020, long before the append
        store.touch(ref, past)
        assert store.stat(ref).modified_ms == past
        assert store.read_bytes(ref).modified_ms == past
        archived = store.archive(ref)  # a move keeps it
        assert store.stat(archived).modified_ms == past
        ref = store.unarchive(archived)
        writer = store.open_writer(ref)
        try:
            writer.append(line("b"))
        finally:
            writer.close()
        assert store.stat(ref).modified_ms > past

    # --- L12: logs in key order ---------------------------------------------------------

    def test_l12_logs_come_in_key_order_and_resume_after_a_key(self) -> None:
        store, _ = self.fresh()
        refs = []
        for n, day in enumerate((9, 1, 30, 1, 15, 2)):
            ref = store.allocate(self.new_id(n), datetime(2026, 3 + n % 2, day, 12 - n))
            writer = store.open_writer(ref)
            try:
                writer.append(line(f"thread {n}"))
            finally:
                writer.close()
            refs.append(ref)
        newer = self.add_segment(store, refs[1], meta_line(refs[1].thread_id) + b"\n")
        store.archive(refs[2])
        store.archive(refs[4])
        for archived in (False, True):
            listed = list(store.logs(archived=archived))
            keys = [r.key for r in listed]
            assert keys == sorted(keys) and len(keys) == (2 if archived else 4)
            assert len({r.thread_id for r in listed}) == len(listed)
            assert store.count_logs(archived=archived) == len(keys)
            for i, key in enumerate(keys):
                assert [r.key for r in store.logs(archived=archived, after=key)] == keys[i + 1 :]
                assert store.count_logs(archived=archived, after=key) == len(keys) - i - 1
        live = {r.thread_id: r for r in store.logs(archived=False)}
        if newer is not None:
            assert live[refs[1].thread_id] == newer  # the newest log only (L9)

    # --- L7: names -----------------------------------------------------------------------

    def test_l7_the_latest_name_wins_and_names_are_data(self) -> None:
        store, _ = self.fresh()
        a, b = self.new_id(1), self.new_id(2)
        assert store.name_of(a) is None
        store.set_name(a, "first", "t1")
        store.set_name(b, "'; DROP TABLE threads; --", "t2")
        store.set_name(a, "  second  ", "t3")
        assert store.name_of(a) == "second"
        assert store.names_of([a, b, self.new_id(3)]) == {
            a: "second",
            b: "'; DROP TABLE threads; --",
        }
        with pytest.raises(ValueError):
            store.set_name(a, "   ", "t4")
        assert store.name_of(a) == "second"

    def test_l5_lines_decode_to_their_kinds(self) -> None:
        store, _ = self.fresh()
        tid = self.new_id()
        message = encode_line(RolloutLine(STAMP, UserMessage(message="hello")))
        ref = self.written(store, [meta_line(tid), message])
        kinds: list[Any] = [type(r.line.item).__name__ for r in store.read_lines(ref)]
        assert kinds == ["SessionMeta", "UserMessage"]
