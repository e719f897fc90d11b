"""Thread operations on the logs themselves: rename, archive, unarchive, revert, delete.

These work whether or not the thread is loaded: a loaded thread is renamed through its
actor (the only writer of its log); an unloaded one gets its line appended under the
writer lock, so a live writer in another process is refused, not raced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec
import trio

from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.events import encode_line
from threadlog.events import notifications as notes
from threadlog.events.errors import (
    ArchivedThreadNotFoundError,
    InvalidRequestError,
    ThreadLockedError,
    ThreadNotFoundError,
    ThreadNotLoadedError,
    TurnAlreadyRunningError,
)
from threadlog.events.event_msgs import ThreadNameUpdated
from threadlog.events.rollout import HistoryBase, RolloutLine, SessionMeta
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.events.views import NotLoaded, Thread
from threadlog.projections.index.indexer import sync_log
from threadlog.projections.index.lineage import first_meta, resolve
from threadlog.projections.index.read_thread import read_thread
from threadlog.projections.turn_spans import OWN_LOG, TurnSpanner
from threadlog.store.clock import wall_clock_ms
from threadlog.store.names import normalize_name
from threadlog.store.ports import LogRef, LogStore, SegmentsUnsupportedError, WriterLockedError


async def rename(registry: ThreadRegistry, tid: str, name: str) -> None:
    """Name a checked thread id: log line, name index, database, notification."""
    try:
        clean = normalize_name(name)
    except ValueError:
        raise InvalidRequestError("thread name must not be empty") from None
    logs = registry.logs
    actor = registry.loaded(tid)
    if actor is not None:
        await actor.call(lambda: actor.rename(clean))
    else:
        async with registry.owned(tid):  # its owner writes its log
            ref = await trio.to_thread.run_sync(lambda: logs.locate(tid))
            if ref is None:
                raise ThreadNotLoadedError(tid)
            line = RolloutLine(
                format_timestamp_ms(wall_clock_ms()),
                ThreadNameUpdated(thread_id=tid, thread_name=clean),
            )
            await trio.to_thread.run_sync(_append_to_unloaded, registry, ref, line)
    stamp = format_timestamp_ms(wall_clock_ms())
    await trio.to_thread.run_sync(logs.set_name, tid, clean, stamp)
    index = registry.index
    if index is not None:
        await registry.syncer.flush()
        await trio.to_thread.run_sync(index.set_name, tid, clean)
    registry.publish(notes.name_updated(tid, clean))


def _moved(move: Callable[[LogRef], LogRef], ref: LogRef) -> LogRef:
    """Move a log; a thread another writer holds (Codex has it open) is not moved."""
    try:
        return move(ref)
    except WriterLockedError as exc:
        raise ThreadLockedError(f"cannot move the thread: {exc}") from None


def _append_to_unloaded(registry: ThreadRegistry, ref: LogRef, line: RolloutLine) -> None:
    """Append a line to a thread nobody here has loaded, then index it (blocking)."""
    _append_line(registry, ref, line)
    if registry.index is not None:
        sync_log(registry.index, registry.logs, ref, updated_at_ms=wall_clock_ms())


def _append_line(registry: ThreadRegistry, ref: LogRef, line: RolloutLine) -> None:
    """Append through the log's one writer, so a writer elsewhere refuses us (blocking)."""
    try:
        writer = registry.logs.open_writer(ref, durability=registry.durability)
    except WriterLockedError as exc:
        raise ThreadLockedError(f"cannot write the thread: {exc}") from None
    try:
        writer.append(encode_line(line), expected=writer.position)
    finally:
        writer.close()


async def archive(registry: ThreadRegistry, tid: str) -> None:
    """Unload the thread, move its log to the archive, update the index."""
    async with registry.owned(tid):
        await _archive(registry, tid)


async def _archive(registry: ThreadRegistry, tid: str) -> None:
    actor = registry.loaded(tid)
    if actor is not None and not actor.recorder.materialized:
        raise ThreadNotFoundError(tid)
    await registry.unload(tid)
    logs = registry.logs
    ref = await trio.to_thread.run_sync(lambda: logs.locate(tid, archived=False))
    if ref is None:
        raise ThreadNotFoundError(tid)
    moved = await trio.to_thread.run_sync(_moved, logs.archive, ref)
    if registry.index is not None:
        await trio.to_thread.run_sync(sync_log, registry.index, logs, moved)
    registry.publish(notes.thread_status_changed(tid, NotLoaded()))
    registry.publish(notes.thread_archived(tid))


async def unarchive(registry: ThreadRegistry, tid: str) -> Thread:
    """Move an archived thread back among the live ones (modified now) and return it."""
    async with registry.owned(tid):
        return await _unarchive(registry, tid)


async def _unarchive(registry: ThreadRegistry, tid: str) -> Thread:
    logs = registry.logs
    ref = await trio.to_thread.run_sync(lambda: logs.locate(tid, archived=True))
    if ref is None:
        raise ArchivedThreadNotFoundError(tid)
    moved = await trio.to_thread.run_sync(_moved, logs.unarchive, ref)
    if registry.index is not None:
        await trio.to_thread.run_sync(sync_log, registry.index, logs, moved)
    thread = await trio.to_thread.run_sync(lambda: read_thread(logs, tid, include_turns=False))
    registry.publish(notes.thread_unarchived(tid))
    return thread


async def _unload_idle(registry: ThreadRegistry, tid: str) -> None:
    """Passivate the thread unless a turn is running (which is refused, not cut short)."""
    actor = registry.loaded(tid)
    if actor is not None and actor.active is not None:
        raise TurnAlreadyRunningError(f"thread {tid} is running a turn; interrupt it first")
    await registry.unload(tid)


async def revert(registry: ThreadRegistry, tid: str, before_turn_id: str) -> Thread:
    """End the thread's history before one of its turns, as 0.171's ``thread/revert`` does:
    a new file of the thread whose ``history_base`` is its previous file cut where that
    turn began. Nothing is deleted; the earlier file stays whole (and readable) beside it.
    """
    async with registry.owned(tid):
        return await _revert(registry, tid, before_turn_id)


async def _revert(registry: ThreadRegistry, tid: str, before_turn_id: str) -> Thread:
    await _unload_idle(registry, tid)
    ref = await trio.to_thread.run_sync(_write_revert, registry, tid, before_turn_id)
    if registry.index is not None:
        await trio.to_thread.run_sync(sync_log, registry.index, registry.logs, ref)
    await registry.loaded_actor(tid)  # loaded again, from the new file
    thread = await trio.to_thread.run_sync(
        lambda: read_thread(registry.logs, tid, include_turns=False)
    )
    registry.publish(notes.thread_reverted(tid))
    return thread


def _write_revert(registry: ThreadRegistry, tid: str, before_turn_id: str) -> LogRef:
    """Write the new file's ``session_meta`` (blocking); the new file's ref."""
    logs = registry.logs
    head = logs.locate(tid, archived=False)
    meta = first_meta(logs, head) if head is not None else None
    if head is None or meta is None:
        raise ThreadNotFoundError(tid)
    spanner = TurnSpanner(OWN_LOG)
    for read in logs.read_lines(head):
        spanner.feed(read.line.item, read.offset, read.end, read.line.ordinal)
    span = next((s for s in spanner.spans if s.turn_id == before_turn_id), None)
    if span is None:
        raise InvalidRequestError(_not_revertable(logs, head, meta, before_turn_id))
    try:
        ref = logs.allocate(tid, datetime.now(), segment=True)
    except SegmentsUnsupportedError as exc:
        raise InvalidRequestError(f"cannot revert here: {exc}") from None
    base = HistoryBase(
        thread_id=tid, end_ordinal_exclusive=span.ordinal, end_byte_offset=span.start_offset
    )
    stamp = format_timestamp_ms(wall_clock_ms())
    _append_line(
        registry, ref, RolloutLine(stamp, msgspec.structs.replace(meta, history_base=base))
    )
    return ref


def _not_revertable(logs: LogStore, head: LogRef, meta: SessionMeta, turn_id: str) -> str:
    """Why a turn outside the thread's newest file cannot be reverted to (blocking).

    A revert file's base is always the thread's previous file (that is how 0.171 resolves
    a base naming the thread itself), so a turn in an older file, or in a fork parent's,
    cannot be cut at by reference.
    """
    for segment in resolve(logs, head, meta).bases:
        for read in logs.read_lines(segment.ref):
            if not segment.includes(read):
                break
            if getattr(read.line.item, "turn_id", None) == turn_id:
                if segment.ref.thread_id == head.thread_id:
                    return (
                        f"turn {turn_id} is before an earlier revert of this thread; "
                        "fork the thread before it instead"
                    )
                return (
                    f"turn {turn_id} is inherited from thread {segment.ref.thread_id}; "
                    "fork that thread before it instead"
                )
    return f"thread {head.thread_id} has no turn {turn_id}"


async def delete(registry: ThreadRegistry, tid: str) -> None:
    """Remove the thread for good, as the client asked: every file of it, its index rows.

    A running turn is refused rather than cut short; a thread another writer holds (Codex
    has it open) is refused whole, with nothing removed.
    """
    async with registry.owned(tid):
        await _delete(registry, tid)


async def _delete(registry: ThreadRegistry, tid: str) -> None:
    await _unload_idle(registry, tid)
    try:
        removed = await trio.to_thread.run_sync(registry.logs.delete, tid)
    except WriterLockedError as exc:
        raise ThreadLockedError(f"cannot delete the thread: {exc}") from None
    if removed == 0:
        raise ThreadNotFoundError(tid)
    if registry.index is not None:
        await trio.to_thread.run_sync(registry.index.delete, tid)
    registry.publish(notes.thread_status_changed(tid, NotLoaded()))
    registry.publish(notes.thread_deleted(tid))
