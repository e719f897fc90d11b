"""What clients see of a thread: the app-server v2 ``Thread``, ``Turn`` and friends.

camelCase JSON, shaped exactly as Codex 0.105.0's app-server answers (``createdAt`` and
``updatedAt`` in Unix seconds). ``Thread.turns`` is filled only where the protocol says so
(resume, rollback, fork, and read with ``includeTurns``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from threadlog.events.thread_items import ThreadItemKind

TurnStatus = Literal["completed", "interrupted", "failed", "inProgress"]
ThreadActiveFlag = Literal["waitingOnApproval", "waitingOnUserInput"]


class TurnError(msgspec.Struct, frozen=True, rename="camel"):
    """Why a turn failed."""

    message: str
    codex_error_info: Any = None
    additional_details: str | None = None
    misalignment: Any = None


TurnItemsView = Literal["full", "summary", "notLoaded"]


class Turn(msgspec.Struct, frozen=True, rename="camel"):
    """One user turn and the items it produced (timings in Unix seconds, from 0.169+ logs)."""

    id: str
    items: list[ThreadItemKind]
    status: TurnStatus
    error: TurnError | None = None
    root_turn_id: str | None = None
    items_view: TurnItemsView = "full"
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None


class NotLoaded(msgspec.Struct, frozen=True, tag_field="type", tag="notLoaded"):
    """The thread is on disk but not running."""


class Idle(msgspec.Struct, frozen=True, tag_field="type", tag="idle"):
    """The thread is loaded and waiting."""


class SystemErrorStatus(msgspec.Struct, frozen=True, tag_field="type", tag="systemError"):
    """The thread's runtime failed."""


class Active(msgspec.Struct, frozen=True, tag_field="type", tag="active", rename="camel"):
    """A turn is running."""

    active_flags: list[ThreadActiveFlag] = []


ThreadStatus = NotLoaded | Idle | SystemErrorStatus | Active


class GitInfoView(msgspec.Struct, frozen=True, rename="camel"):
    """Git metadata captured when the thread was created."""

    sha: str | None = None
    branch: str | None = None
    origin_url: str | None = None


class Thread(msgspec.Struct, frozen=True, rename="camel"):
    """A thread as ``thread/read``, ``thread/list`` and friends return it.

    The fields after ``turns`` are 0.171's: always sent, with the values 0.171 gives for the
    same log (``sessionId`` is the thread id; what a log cannot say is null).
    """

    id: str
    preview: str
    model_provider: str
    created_at: int
    updated_at: int
    status: ThreadStatus
    path: str | None
    cwd: str
    cli_version: str
    source: Any
    agent_nickname: str | None = None
    agent_role: str | None = None
    git_info: GitInfoView | None = None
    name: str | None = None
    turns: list[Turn] = []
    session_id: str = ""
    forked_from_id: str | None = None
    parent_thread_id: str | None = None
    attached_to_thread_id: str | None = None
    ephemeral: bool = False
    history_mode: str = "legacy"
    model: str | None = None
    reasoning_effort: str | None = None
    recency_at: int | None = None
    originator: str = ""
    thread_source: Any = None
    environments: Any = None
    extra: Any = None
    section: Any = None
    section_entered_at: int | None = None
    project_id: str | None = None
    can_accept_direct_input: bool | None = None
    daybreak_enabled: bool | None = None


class FirstUnread(msgspec.Struct, frozen=True, tag_field="type", tag="turn", rename="camel"):
    """The first turn a reader has not seen."""

    turn_id: str


class ReadState(msgspec.Struct, frozen=True, rename="camel"):
    """What a reader has seen of a thread (0.171's ``readState``).

    threadlog keeps no read receipts, so, as 0.171 does for a thread it has none for, the
    first unread turn is the thread's own first turn; ``revision`` names that state.
    """

    first_unread: FirstUnread | None
    revision: str
