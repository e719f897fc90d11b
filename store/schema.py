"""The state DB schema as forward-only migrations keyed on ``PRAGMA user_version``.

Each entry of ``MIGRATIONS`` takes the database from version ``i`` to ``i + 1`` and runs in
one transaction with the version bump, so a crash mid-migration leaves the old version
intact. Never edit a released migration: add a new one.

Listing indexes are partial (``WHERE first_user_message <> ''``), because threads without a
user message are never listed; the listing queries repeat that predicate so SQLite can use
them, and each index ends with ``id`` so keyset paging needs no sort.
"""

from __future__ import annotations

from typing import Final

_V1: Final = """
CREATE TABLE threads (
    id TEXT PRIMARY KEY NOT NULL,
    rollout_path TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'vscode',
    source_kind TEXT NOT NULL DEFAULT 'vscode',
    model_provider TEXT NOT NULL DEFAULT '',
    cwd TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    first_user_message TEXT NOT NULL DEFAULT '',
    name TEXT,
    cli_version TEXT NOT NULL DEFAULT '',
    model TEXT,
    reasoning_effort TEXT,
    sandbox_policy TEXT NOT NULL DEFAULT '{"type":"read-only"}',
    approval_mode TEXT NOT NULL DEFAULT 'on-request',
    tokens_used INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    archived_at_ms INTEGER,
    git_sha TEXT,
    git_branch TEXT,
    git_origin_url TEXT,
    agent_nickname TEXT,
    agent_role TEXT,
    forked_from_id TEXT,
    memory_mode TEXT NOT NULL DEFAULT 'enabled'
);
CREATE INDEX idx_threads_created_at_ms ON threads(created_at_ms DESC, id DESC);
CREATE INDEX idx_threads_updated_at_ms ON threads(updated_at_ms DESC, id DESC);
CREATE TABLE thread_dynamic_tools (
    thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    input_schema TEXT NOT NULL DEFAULT 'null',
    defer_loading INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, position)
);
CREATE TABLE backfill_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    status TEXT NOT NULL,
    last_watermark TEXT,
    last_success_at INTEGER,
    updated_at INTEGER NOT NULL
);
"""

_V2: Final = """
ALTER TABLE threads ADD COLUMN file_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN indexed_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN file_mtime_ns INTEGER NOT NULL DEFAULT 0;
DROP INDEX idx_threads_created_at_ms;
CREATE INDEX idx_threads_list_created ON threads(archived, created_at_ms, id)
    WHERE first_user_message <> '';
CREATE INDEX idx_threads_list_updated ON threads(archived, updated_at_ms, id)
    WHERE first_user_message <> '';
CREATE INDEX idx_threads_rollout_path ON threads(rollout_path);
"""

_V3: Final = """
ALTER TABLE threads ADD COLUMN file_ino INTEGER NOT NULL DEFAULT 0;
"""

# The log position becomes one backend-owned value (offset + identity) instead of file
# facts; rows keep their progress, so no file is read again after the upgrade.
_V4: Final = """
ALTER TABLE threads ADD COLUMN log_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN log_identity TEXT NOT NULL DEFAULT '';
UPDATE threads SET log_offset = indexed_offset,
    log_identity = CASE WHEN file_ino <> 0 THEN 'inode:' || file_ino ELSE '' END;
ALTER TABLE threads DROP COLUMN file_size;
ALTER TABLE threads DROP COLUMN indexed_offset;
ALTER TABLE threads DROP COLUMN file_mtime_ns;
ALTER TABLE threads DROP COLUMN file_ino;
"""

# 0.169+ session facts, and the turn index (one row per turn: where its lines are, for
# ``thread/turns/list``). Rows folded before this version lack the new facts (and current
# files folded to no preview), so every log is folded again: positions are forgotten and the
# backfill runs anew.
_V5: Final = """
ALTER TABLE threads ADD COLUMN originator TEXT NOT NULL DEFAULT '';
ALTER TABLE threads ADD COLUMN thread_source TEXT;
ALTER TABLE threads ADD COLUMN history_mode TEXT NOT NULL DEFAULT 'legacy';
ALTER TABLE threads ADD COLUMN recency_at_ms INTEGER;
ALTER TABLE threads ADD COLUMN first_turn_id TEXT;
ALTER TABLE threads ADD COLUMN session_id TEXT;
UPDATE threads SET log_offset = 0, log_identity = '';
DELETE FROM backfill_state;
CREATE TABLE thread_turns (
    thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    turn_id TEXT NOT NULL,
    log_location TEXT NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset INTEGER,
    ordinal INTEGER,
    PRIMARY KEY (thread_id, position)
);
ALTER TABLE backfill_state ADD COLUMN holder TEXT;
CREATE INDEX idx_thread_turns_ordinal ON thread_turns(thread_id, ordinal);
CREATE TABLE thread_turns_state (
    thread_id TEXT PRIMARY KEY NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    turn_count INTEGER NOT NULL,
    unordered INTEGER NOT NULL,
    log_offset INTEGER NOT NULL,
    log_identity TEXT NOT NULL
);
"""

# ``thread/list`` by ``recency_at`` (0.171's sort key for its thread pickers); the
# expression is ``ThreadRow.sort_value("recency_at")``, and queries repeat it verbatim so
# the planner seeks in this index.
_V6: Final = """
CREATE INDEX idx_threads_list_recency
    ON threads(archived, coalesce(recency_at_ms, created_at_ms), id)
    WHERE first_user_message <> '';
"""

# A search term of three characters or more is answered by this trigram index of the
# listing's searchable text (title and name) instead of a scan: FTS5's trigram tokenizer,
# case-sensitive, matches any substring, which is ``instr``'s meaning. The index holds the
# columns as stored (external content) and triggers keep it in step; an update that leaves
# both columns as they were (most upserts) touches nothing.
_V7: Final = """
CREATE VIRTUAL TABLE threads_search USING fts5(
    title, name, content='threads', content_rowid='rowid',
    tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER threads_search_insert AFTER INSERT ON threads BEGIN
    INSERT INTO threads_search(rowid, title, name) VALUES (new.rowid, new.title, new.name);
END;
CREATE TRIGGER threads_search_delete AFTER DELETE ON threads BEGIN
    INSERT INTO threads_search(threads_search, rowid, title, name)
        VALUES ('delete', old.rowid, old.title, old.name);
END;
CREATE TRIGGER threads_search_update AFTER UPDATE OF title, name ON threads
    WHEN old.title IS NOT new.title OR old.name IS NOT new.name
BEGIN
    INSERT INTO threads_search(threads_search, rowid, title, name)
        VALUES ('delete', old.rowid, old.title, old.name);
    INSERT INTO threads_search(rowid, title, name) VALUES (new.rowid, new.title, new.name);
END;
INSERT INTO threads_search(threads_search) VALUES ('rebuild');
"""

MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
"""Migration ``i`` takes ``user_version`` ``i`` to ``i + 1``."""

LATEST_VERSION: Final = len(MIGRATIONS)
