"""The v2 ``Thread`` clients see, built from an index row (pure).

``createdAt``/``updatedAt`` are Unix seconds; ``preview`` is the first user message;
``gitInfo`` is null when nothing about git is known; ``source`` is shown in its v2 spelling.
``sessionId`` is the thread id and ``recencyAt`` the start of its latest turn (its creation
when no turn says), as 0.171 shows them.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Final

from threadlog.events.ids import uuid7_timestamp_ms
from threadlog.events.rows import ThreadRow
from threadlog.events.sources import source_from_text, source_to_v2
from threadlog.events.views import (
    FirstUnread,
    GitInfoView,
    NotLoaded,
    ReadState,
    Thread,
    ThreadStatus,
    Turn,
)

_READ_STATE_NAMESPACE: Final = uuid.UUID("5b0e4d5e-7a53-4c1b-9d0f-6c1f1d0d6a10")


def thread_view(
    row: ThreadRow,
    *,
    name: str | None = None,
    turns: list[Turn] | None = None,
    status: ThreadStatus | None = None,
    path: str | None = None,
    listed: bool = False,
) -> Thread:
    """The ``Thread`` object for a row (``path`` overrides ``row.rollout_path``).

    ``listed``: as ``thread/list`` shows it. 0.171 lists rows of its state DB, which keeps
    neither the thread source nor the fork parent, so a listed thread has both null.
    """
    git = None
    if row.git_sha or row.git_branch or row.git_origin_url:
        git = GitInfoView(sha=row.git_sha, branch=row.git_branch, origin_url=row.git_origin_url)
    return Thread(
        id=row.id,
        preview=row.first_user_message,
        model_provider=row.model_provider,
        created_at=created_at_of(row, listed=listed),
        updated_at=row.updated_at_ms // 1000,
        status=status if status is not None else NotLoaded(),
        path=path if path is not None else row.rollout_path,
        cwd=row.cwd,
        cli_version=row.cli_version,
        source=source_to_v2(source_from_text(row.source)),
        agent_nickname=row.agent_nickname,
        agent_role=row.agent_role,
        git_info=git,
        name=name,
        turns=turns or [],
        session_id=row.id,
        forked_from_id=None if listed else row.forked_from_id,
        history_mode=row.history_mode,
        model=row.model,
        reasoning_effort=row.reasoning_effort,
        recency_at=(row.recency_at_ms if row.recency_at_ms is not None else row.created_at_ms)
        // 1000,
        originator=row.originator,
        thread_source=source_from_text(row.thread_source)
        if row.thread_source and not listed
        else None,
    )


def created_at_of(row: ThreadRow, *, listed: bool) -> int:
    """``createdAt`` in seconds.

    0.171 reads a thread of its own era (a meta with ``session_id``) as created at its
    UUIDv7 id's time, and lists it (from its DB) at the meta's timestamp, which can be a
    second later; earlier eras use the meta's timestamp in both.
    """
    if row.session_id and not listed:
        with contextlib.suppress(ValueError):
            return uuid7_timestamp_ms(row.id) // 1000
    return row.created_at_ms // 1000


def read_state(thread_id: str, first_turn_id: str | None) -> ReadState:
    """The read state of a thread nobody marked read: its first own turn is unread.

    The revision is derived from the thread and that turn, so it is stable across reads
    and servers (0.171's is a random id it stores).
    """
    first = FirstUnread(turn_id=first_turn_id) if first_turn_id else None
    revision = uuid5_text(_READ_STATE_NAMESPACE.bytes, f"{thread_id}/{first_turn_id or ''}")
    return ReadState(first_unread=first, revision=revision)


def uuid5_text(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building a ``UUID`` (a listing makes
    one per row; ``uuid.uuid5`` was a tenth of a page)."""
    digest = bytearray(hashlib.sha1(namespace + name.encode(), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
