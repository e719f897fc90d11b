"""Copying threads from one log store to another (``threadlog export`` and ``import``).

Through the ports alone, so it moves threads between any two backends (a file home and a
JetStream stream, either way). Each thread's log is copied byte for byte (whole lines: a
torn last line is left behind and reported), archived threads stay archived, and names
follow. The source is only read.

A copy can be interrupted and run again: a thread the target already holds whole is
skipped, one it holds a prefix of (an earlier run stopped mid-thread) gets the rest, and
one whose log differs is reported and left alone on both sides, never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import msgspec

from threadlog.store.ports import LogRef, LogStore

APPEND_BYTES: Final = 4 * 1024 * 1024  # lines per append: a few MiB (one atomic batch)


class TransferSkip(msgspec.Struct, frozen=True):
    """A thread not copied, and why."""

    thread_id: str
    reason: str


class TransferStats(msgspec.Struct):
    """What a copy did (``--json`` prints it)."""

    threads: int = 0
    copied: int = 0
    resumed: int = 0
    already: int = 0
    bytes: int = 0
    torn_bytes: int = 0
    names: int = 0
    skipped: list[TransferSkip] = msgspec.field(default_factory=list)


class TransferProgress(msgspec.Struct, frozen=True):
    """Where a running copy is."""

    done: int
    total: int
    bytes: int


def _whole_lines(data: bytes) -> tuple[bytes, int]:
    """The complete lines of ``data`` and how many bytes of a torn tail follow them."""
    end = data.rfind(b"\n") + 1
    return data[:end], len(data) - end


def _append_all(target: LogStore, ref: LogRef, data: bytes, offset: int) -> None:
    """Append ``data`` (whole lines) to the log at ``ref``, which ends at ``offset``."""
    writer = target.open_writer(ref, durability="fsync")
    try:
        if writer.position.offset != offset:
            raise ValueError(f"the target log ends at {writer.position.offset}, not {offset}")
        at = 0
        while at < len(data):
            cut = data.rfind(b"\n", at, at + APPEND_BYTES) + 1
            if cut <= at:  # one line longer than a step: it goes whole
                cut = data.index(b"\n", at) + 1
            writer.append(data[at:cut])
            at = cut
    finally:
        writer.close()


def _copy_one(source: LogStore, target: LogStore, ref: LogRef, stats: TransferStats) -> None:
    segments = source.segments(ref.thread_id)
    if len(segments) > 1:  # only a file home has them; JetStream keeps one log per thread
        stats.skipped.append(
            TransferSkip(
                ref.thread_id,
                f"has {len(segments)} logs (a Codex revert), which a copy does not merge",
            )
        )
        return
    data, torn = _whole_lines(source.read_bytes(ref).data)
    stats.torn_bytes += torn
    there = target.locate(ref.thread_id)
    if there is not None:
        held = target.read_bytes(there).data
        if held == data:
            stats.already += 1
        elif data.startswith(held) and held.endswith(b"\n"):
            _append_all(target, there, data[len(held) :], len(held))
            stats.resumed += 1
            stats.bytes += len(data) - len(held)
        else:
            stats.skipped.append(
                TransferSkip(ref.thread_id, "the target holds a different log for this thread")
            )
            return
        target_ref = there
    else:
        created = datetime.fromtimestamp(ref.created_ms / 1000, tz=UTC)
        target_ref = target.allocate(ref.thread_id, created)
        _append_all(target, target_ref, data, 0)
        target_ref = target.locate(ref.thread_id) or target_ref
        stats.copied += 1
        stats.bytes += len(data)
    if not ref.archived and target_ref.archived:
        target_ref = target.unarchive(target_ref)
    target.touch(target_ref, source.stat(ref).modified_ms)  # updatedAt, archived_at follow
    if ref.archived and not target_ref.archived:
        target.archive(target_ref)


def copy_threads(
    source: LogStore,
    target: LogStore,
    *,
    progress: Callable[[TransferProgress], None] | None = None,
    now: Callable[[], str] | None = None,
) -> TransferStats:
    """Copy every thread (live and archived) and its name from ``source`` to ``target``."""
    refs = [*source.logs(archived=False), *source.logs(archived=True)]
    stats = TransferStats(threads=len(refs))
    for n, ref in enumerate(refs, 1):
        _copy_one(source, target, ref, stats)
        if progress is not None:
            progress(TransferProgress(n, len(refs), stats.bytes))
    skipped = {s.thread_id for s in stats.skipped}
    names = source.names_of(r.thread_id for r in refs if r.thread_id not in skipped)
    stamp = now() if now is not None else datetime.now(UTC).isoformat()
    held = target.names_of(names)
    for tid, name in names.items():
        if held.get(tid) != name:
            target.set_name(tid, name, stamp)
            stats.names += 1
    return stats
