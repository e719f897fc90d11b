"""The PostgreSQL index's schema: forward-only migrations, and the batch upsert.

Migration ``i`` takes a schema from version ``i`` to ``i + 1`` (``threadlog_schema``
records it); never edit one that has shipped, add the next. The upsert writes a whole
batch of rows in one statement, ``unnest`` of one array per column.
"""

from __future__ import annotations

from typing import Final

from threadlog.store.row_sql import COLUMNS, SELECT_COLUMNS

_V1: Final = """
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    rollout_path TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    model_provider TEXT NOT NULL,
    cwd TEXT NOT NULL,
    title TEXT NOT NULL,
    first_user_message TEXT NOT NULL,
    name TEXT,
    cli_version TEXT NOT NULL,
    model TEXT,
    reasoning_effort TEXT,
    sandbox_policy TEXT NOT NULL,
    approval_mode TEXT NOT NULL,
    tokens_used BIGINT NOT NULL,
    archived BOOLEAN NOT NULL,
    archived_at_ms BIGINT,
    git_sha TEXT,
    git_branch TEXT,
    git_origin_url TEXT,
    agent_nickname TEXT,
    agent_role TEXT,
    forked_from_id TEXT,
    memory_mode TEXT NOT NULL,
    originator TEXT NOT NULL,
    thread_source TEXT,
    history_mode TEXT NOT NULL,
    recency_at_ms BIGINT,
    first_turn_id TEXT,
    session_id TEXT,
    log_offset BIGINT NOT NULL,
    log_identity TEXT NOT NULL
);
CREATE INDEX threads_list_created ON threads (archived, created_at_ms, id)
    WHERE first_user_message <> '';
CREATE INDEX threads_list_updated ON threads (archived, updated_at_ms, id)
    WHERE first_user_message <> '';
CREATE INDEX threads_list_recency
    ON threads (archived, (coalesce(recency_at_ms, created_at_ms)), id)
    WHERE first_user_message <> '';
-- the highest updated_at_ms ever stored: live writes are stamped after it (one row, so
-- hosts writing at once queue on it instead of locking the table)
CREATE TABLE thread_stamp (id INTEGER PRIMARY KEY, high BIGINT NOT NULL);
INSERT INTO thread_stamp VALUES (1, 0);
CREATE TABLE thread_dynamic_tools (
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    input_schema TEXT NOT NULL,
    defer_loading BOOLEAN NOT NULL,
    PRIMARY KEY (thread_id, position)
);
CREATE TABLE thread_turns (
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    turn_id TEXT NOT NULL,
    log_location TEXT NOT NULL,
    start_offset BIGINT NOT NULL,
    end_offset BIGINT,
    ordinal BIGINT,
    PRIMARY KEY (thread_id, position)
);
CREATE INDEX thread_turns_ordinal ON thread_turns (thread_id, ordinal);
CREATE TABLE thread_turns_state (
    thread_id TEXT PRIMARY KEY REFERENCES threads (id) ON DELETE CASCADE,
    turn_count INTEGER NOT NULL,
    unordered INTEGER NOT NULL,
    log_offset BIGINT NOT NULL,
    log_identity TEXT NOT NULL
);
CREATE TABLE backfill_state (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    last_watermark TEXT,
    last_success_at BIGINT,
    updated_at BIGINT NOT NULL,
    holder TEXT
);
"""

# Thread ownership among hosts (ports O1-O5): a released or expired lease keeps its row, so
# the next claim's epoch is always higher than any before it.
_V2: Final = """
CREATE TABLE thread_leases (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX thread_leases_owner ON thread_leases (owner);
"""

MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2)
"""Migration ``i`` takes the schema from version ``i`` to ``i + 1``; never edit one."""

_TYPES: Final = {"archived": "boolean"}
_BIGINT: Final = {
    "created_at_ms", "updated_at_ms", "tokens_used", "archived_at_ms", "recency_at_ms",
    "log_offset",
}  # fmt: skip
UPSERT: Final = (
    f"INSERT INTO threads ({SELECT_COLUMNS}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_TYPES.get(c, 'bigint' if c in _BIGINT else 'text')}[]" for c in COLUMNS)
    + ") ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")
)
