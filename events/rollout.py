"""The rollout line and the item kinds that are not events or response items.

A rollout line is ``{"timestamp": …, "type": <kind>, "payload": {…}}`` (Codex's
``RolloutLine`` with an adjacently tagged ``RolloutItem``). ``RolloutLine`` here pairs the
timestamp with a typed item and, for a line read from disk, the line's own bytes: encoding a
decoded line re-emits those bytes, so fields and kinds we do not model survive a round trip
unchanged (invariant 4 of DESIGN.md). A line built in code has ``raw=None`` and is encoded
from its typed item. Since 0.169 a line also carries ``ordinal`` (and ``metadata`` on
response items); the ordinal is decoded, the metadata survives in the raw bytes.

Nested objects that Codex keeps extending (sandbox and approval policies, sources, error
info) are typed ``Any``: a new variant in a newer Codex must not make the whole line
unreadable.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from threadlog.events.event_msgs import EventMsg
from threadlog.events.response_items import ResponseItem


class GitInfo(msgspec.Struct, frozen=True, omit_defaults=True):
    """``session_meta.git``: collected from the cwd when materialized; absent parts omitted."""

    commit_hash: str | None = None
    branch: str | None = None
    repository_url: str | None = None


class DynamicToolSpec(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """A client-side tool declared when the thread started (camelCase on disk, as in Codex)."""

    name: str
    description: str = ""
    input_schema: Any = None
    defer_loading: bool = False
    namespace: str | None = None


class HistoryBase(msgspec.Struct, frozen=True):
    """Where a fork by reference (or a revert's new file) takes its inherited history from.

    The inherited history is the lines of ``thread_id``'s log before ``end_byte_offset``
    (equivalently, before ``end_ordinal_exclusive``).
    """

    thread_id: str
    end_ordinal_exclusive: int | None = None
    end_byte_offset: int | None = None


class SessionMeta(msgspec.Struct, frozen=True):
    """``session_meta`` payload: the thread's identity (the first one in a file wins).

    The 0.169+ fields default to ``UNSET`` and are then not written at all: 0.171 reads
    some of them (``history_mode``, ``account_scoped``) as values that may not be null.
    """

    id: str
    timestamp: str = ""
    cwd: str = ""
    originator: str = ""
    cli_version: str = ""
    source: Any = "vscode"
    forked_from_id: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    agent_path: str | None = None
    model_provider: str | None = None
    base_instructions: Any = None
    dynamic_tools: list[DynamicToolSpec] | None = None
    memory_mode: str | None = None
    git: GitInfo | None = None
    # Later Codex versions; optional so every era reads.
    thread_source: Any = None
    parent_thread_id: str | None = None
    session_id: str | UnsetType = UNSET
    history_mode: str | UnsetType = UNSET
    history_base: HistoryBase | UnsetType = UNSET
    forked_from_ordinal_exclusive: int | UnsetType = UNSET
    multi_agent_version: str | UnsetType = UNSET
    runtime_workspace_roots: list[str] | UnsetType = UNSET
    context_window: Any = UNSET
    account_scoped: bool | UnsetType = UNSET

    @property
    def base(self) -> HistoryBase | None:
        """Where the inherited history comes from (forks by reference, reverts), if any."""
        return self.history_base if isinstance(self.history_base, HistoryBase) else None


class TurnContext(msgspec.Struct, frozen=True):
    """``turn_context`` payload: the settings a real user turn ran with."""

    cwd: str = ""
    turn_id: str | None = None
    current_date: str | None = None
    timezone: str | None = None
    approval_policy: Any = None
    sandbox_policy: Any = None
    network: Any = None
    model: str = ""
    personality: Any = None
    collaboration_mode: Any = None
    realtime_active: bool | None = None
    effort: str | None = None
    summary: Any = None
    user_instructions: str | None = None
    developer_instructions: str | None = None
    final_output_json_schema: Any = None
    truncation_policy: Any = None
    file_system_sandbox_policy: Any = None
    permission_profile: Any = None
    workspace_roots: list[str] | None = None


class WorldState(msgspec.Struct, frozen=True):
    """``world_state`` payload (0.169+): the environment the model saw, whole or as a diff."""

    full: bool = False
    state: Any = None


class TokenUsageRecord(msgspec.Struct, frozen=True):
    """``token_usage_record`` payload (0.169+): one model response's token usage."""

    thread_id: str | None = None
    turn_id: str | None = None
    session_id: str | None = None
    root_turn_id: str | None = None
    response_id: str | None = None
    usage: Any = None
    turn_token_usage: Any = None
    thread_token_usage: Any = None


class Compacted(msgspec.Struct, frozen=True):
    """``compacted`` payload: a summary that replaces the model-visible history."""

    message: str = ""
    # Kept as plain JSON values: decoded on demand by fork/rollback slicing.
    replacement_history: list[Any] | None = None


class UnknownItem(msgspec.Struct, frozen=True):
    """A line whose ``type`` we do not model; its payload is kept as raw JSON."""

    type: str
    payload: msgspec.Raw


class UnknownEventMsg(msgspec.Struct, frozen=True):
    """An ``event_msg`` whose inner ``type`` we do not model (or cannot validate)."""

    type: str
    payload: msgspec.Raw


class UnknownResponseItem(msgspec.Struct, frozen=True):
    """A ``response_item`` whose inner ``type`` we do not model (or cannot validate)."""

    type: str
    payload: msgspec.Raw


class LegacyItem(msgspec.Struct, frozen=True):
    """A line of the 2025 pre-envelope format (bare meta, ``record_type`` or bare item)."""

    data: msgspec.Raw


RolloutItem = (
    SessionMeta
    | ResponseItem
    | EventMsg
    | TurnContext
    | Compacted
    | WorldState
    | TokenUsageRecord
    | UnknownItem
    | UnknownEventMsg
    | UnknownResponseItem
    | LegacyItem
)
"""Every value a rollout line can carry."""


def item_kind(item: RolloutItem) -> str:
    """The line ``type`` (``session_meta``, ``event_msg``, …) an item is written under."""
    if isinstance(item, EventMsg | UnknownEventMsg):
        return "event_msg"
    if isinstance(item, ResponseItem | UnknownResponseItem):
        return "response_item"
    if isinstance(item, SessionMeta):
        return "session_meta"
    if isinstance(item, TurnContext):
        return "turn_context"
    if isinstance(item, Compacted):
        return "compacted"
    if isinstance(item, WorldState):
        return "world_state"
    if isinstance(item, TokenUsageRecord):
        return "token_usage_record"
    if isinstance(item, UnknownItem):
        return item.type
    return "legacy"


class RolloutLine(msgspec.Struct, frozen=True, gc=False):
    """One line of a rollout file: when it was written, what it holds, its original bytes.

    ``ordinal`` is the line's place in its file's numbering (0.169+ files; a fork continues
    its parent's numbering); None for files of earlier eras and legacy-mode threads.
    """

    timestamp: str | None
    item: RolloutItem
    raw: bytes | None = None
    ordinal: int | None = None

    @property
    def kind(self) -> str:
        """The line's ``type`` field."""
        return item_kind(self.item)
