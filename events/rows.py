"""The index row of one thread: what the state DB stores and the metadata fold produces.

Times are Unix milliseconds. ``source`` is the on-disk source as the index stores it
(``events.sources.source_to_text``) and ``source_kind`` its flat v2 kind, kept as its own
column so the source filter of a listing is served by an index. ``file_size``,
``indexed_offset``, ``file_mtime_ns`` and ``file_ino`` let the index resume reading a file
that has only grown instead of reading it again, and notice one that was replaced.
"""

from __future__ import annotations

import msgspec

from threadlog.events.rollout import DynamicToolSpec


class ThreadRow(msgspec.Struct, frozen=True):
    """One row of the ``threads`` table."""

    id: str
    rollout_path: str
    created_at_ms: int
    updated_at_ms: int
    source: str = "vscode"
    source_kind: str = "vscode"
    model_provider: str = ""
    cwd: str = ""
    title: str = ""
    first_user_message: str = ""
    name: str | None = None
    cli_version: str = ""
    model: str | None = None
    reasoning_effort: str | None = None
    sandbox_policy: str = '{"type":"read-only"}'
    approval_mode: str = "on-request"
    tokens_used: int = 0
    archived: bool = False
    archived_at_ms: int | None = None
    git_sha: str | None = None
    git_branch: str | None = None
    git_origin_url: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    forked_from_id: str | None = None
    memory_mode: str = "enabled"
    file_size: int = 0
    indexed_offset: int = 0
    file_mtime_ns: int = 0
    file_ino: int = 0


class ThreadRecord(msgspec.Struct, frozen=True):
    """A row together with the dynamic tools its first ``session_meta`` declared."""

    row: ThreadRow
    dynamic_tools: list[DynamicToolSpec] = []
