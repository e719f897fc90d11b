"""Copying threads between log stores (what ``import`` and ``export`` run): a file home into
the in-memory store and back, with the cases a real home has."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from threadlog.events.ids import Uuid7Generator
from threadlog.store.files import FileLogStore
from threadlog.store.memory import MemoryLogStore
from threadlog.store.transfer import copy_threads
from threadlog.testing.homes import thread_lines, write_thread

CREATED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _ids(n: int) -> list[str]:
    gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
    return [gen() for _ in range(n)]


def test_a_home_is_copied_whole_and_a_second_copy_only_completes_it(tmp_path: Path) -> None:
    files, memory = FileLogStore(tmp_path), MemoryLogStore()
    a, b, c = _ids(3)
    for tid in (a, b, c):
        write_thread(files, tid, CREATED, thread_lines(tid, CREATED, f"thread {tid[-4:]}"))
    files.archive(files.locate(c))  # type: ignore[arg-type]
    files.set_name(a, "named", "2026-03-01T12:00:00Z")
    torn = files.locate(b)
    assert torn is not None
    with open(torn.location, "ab") as stream:
        stream.write(b'{"timestamp":"2026-03-01T12:00:00.000Z","type":"ev')  # a crash mid-line
    files.touch(torn, 1_600_000_000_000)

    stats = copy_threads(files, memory)
    assert (stats.threads, stats.copied, stats.skipped) == (3, 3, [])
    assert stats.torn_bytes == len(b'{"timestamp":"2026-03-01T12:00:00.000Z","type":"ev')
    for tid in (a, b, c):
        source, target = files.locate(tid), memory.locate(tid)
        assert source is not None and target is not None
        whole = files.read_bytes(source).data
        assert memory.read_bytes(target).data == whole[: whole.rfind(b"\n") + 1]
        assert target.archived == (tid == c)
    assert memory.name_of(a) == "named"
    moved = memory.locate(b)
    assert moved is not None and memory.stat(moved).modified_ms == 1_600_000_000_000

    extra = thread_lines(a, CREATED, "more")[1:]  # the thread went on after the copy
    writer = files.open_writer(files.locate(a))  # type: ignore[arg-type]
    writer.append(extra)
    writer.close()
    again = copy_threads(files, memory)
    assert (again.copied, again.resumed, again.already, again.names) == (0, 1, 2, 0)
    a_ref = memory.locate(a)
    assert a_ref is not None and memory.read_bytes(a_ref).data.endswith(b"".join(extra))


def test_a_differing_log_or_a_thread_of_several_logs_is_reported_never_overwritten(
    tmp_path: Path,
) -> None:
    files, memory = FileLogStore(tmp_path), MemoryLogStore()
    differs, split = _ids(2)
    write_thread(files, differs, CREATED, thread_lines(differs, CREATED, "in the home"))
    write_thread(memory, differs, CREATED, thread_lines(differs, CREATED, "elsewhere"))
    head = write_thread(files, split, CREATED, thread_lines(split, CREATED, "first log"))
    later = Path(head.location).with_name(
        f"rollout-2099-01-01T00-00-00-{split}_{uuid.uuid4()}.jsonl"
    )  # a Codex revert's second file
    later.write_bytes(b"".join(thread_lines(split, CREATED, "second log")))
    held = memory.read_bytes(memory.locate(differs)).data  # type: ignore[arg-type]

    stats = copy_threads(files, memory)
    reasons = {s.thread_id: s.reason for s in stats.skipped}
    assert "different log" in reasons[differs] and "2 logs" in reasons[split]
    assert memory.read_bytes(memory.locate(differs)).data == held  # type: ignore[arg-type]
    assert memory.locate(split) is None
