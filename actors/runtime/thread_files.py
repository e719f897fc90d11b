"""Thread operations on the files themselves: rename, archive, unarchive.

These work whether or not the thread is loaded: a loaded thread is renamed through its
actor (the only writer of its log); an unloaded one gets its line appended under the
writer lock, so a live writer in another process is refused, not raced.
"""

from __future__ import annotations

from pathlib import Path

import trio

from threadlog.actors.runtime.recorder import now_ms
from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.events import encode_line
from threadlog.events import notifications as notes
from threadlog.events.errors import (
    ArchivedThreadNotFoundError,
    InvalidRequestError,
    ThreadLockedError,
    ThreadNotFoundError,
    ThreadNotLoadedError,
)
from threadlog.events.event_msgs import ThreadNameUpdated
from threadlog.events.rollout import RolloutLine
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.events.views import Thread
from threadlog.projections.index.indexer import sync_file
from threadlog.projections.index.read_thread import read_thread
from threadlog.store.appender import Durability, RolloutAppender, WriterLockedError
from threadlog.store.archive import archive_rollout, unarchive_rollout
from threadlog.store.layout import find_rollout_path
from threadlog.store.names import append_thread_name, normalize_name
from threadlog.store.statedb import StateDb


async def rename(registry: ThreadRegistry, tid: str, name: str) -> None:
    """Name a checked thread id: log line, name index, database, notification."""
    try:
        clean = normalize_name(name)
    except ValueError:
        raise InvalidRequestError("thread name must not be empty") from None
    actor = registry.loaded(tid)
    if actor is not None:
        await actor.call(lambda: actor.rename(clean))
    else:
        path = await trio.to_thread.run_sync(find_rollout_path, registry.home, tid)
        if path is None:
            raise ThreadNotLoadedError(tid)
        line = RolloutLine(
            format_timestamp_ms(now_ms()), ThreadNameUpdated(thread_id=tid, thread_name=clean)
        )
        await trio.to_thread.run_sync(
            _append_to_unloaded, path, line, registry.durability, registry.db
        )
    stamp = format_timestamp_ms(now_ms())
    await trio.to_thread.run_sync(append_thread_name, registry.home, tid, clean, stamp)
    db = registry.db
    if db is not None:
        await registry.syncer.flush()
        await trio.to_thread.run_sync(db.set_name, tid, clean)
    registry.publish(notes.name_updated(tid, clean))


def _append_to_unloaded(
    path: Path, line: RolloutLine, durability: Durability, db: StateDb | None
) -> None:
    try:
        with RolloutAppender(path, durability=durability) as appender:
            appender.append(encode_line(line))
    except WriterLockedError:
        raise ThreadLockedError(f"thread is open for writing in another process: {path}") from None
    if db is not None:
        sync_file(db, path, updated_at_ms=now_ms())


async def archive(registry: ThreadRegistry, tid: str) -> None:
    """Unload the thread, move its file to ``archived_sessions/``, update the index."""
    actor = registry.loaded(tid)
    if actor is not None and not actor.recorder.materialized:
        raise ThreadNotFoundError(tid)
    await registry.unload(tid)
    path = await trio.to_thread.run_sync(
        lambda: find_rollout_path(registry.home, tid, archived=False)
    )
    if path is None:
        raise ThreadNotFoundError(tid)
    moved = await trio.to_thread.run_sync(archive_rollout, registry.home, path)
    if registry.db is not None:
        await trio.to_thread.run_sync(sync_file, registry.db, moved)
    registry.publish(notes.thread_archived(tid))


async def unarchive(registry: ThreadRegistry, tid: str) -> Thread:
    """Move an archived thread back under ``sessions/`` (mtime now) and return it."""
    path = await trio.to_thread.run_sync(
        lambda: find_rollout_path(registry.home, tid, archived=True)
    )
    if path is None:
        raise ArchivedThreadNotFoundError(tid)
    moved = await trio.to_thread.run_sync(unarchive_rollout, registry.home, path)
    if registry.db is not None:
        await trio.to_thread.run_sync(sync_file, registry.db, moved)
    thread = await trio.to_thread.run_sync(
        lambda: read_thread(registry.home, tid, include_turns=False)
    )
    registry.publish(notes.thread_unarchived(tid))
    return thread
