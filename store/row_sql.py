"""The SQL that writes a thread's index rows: its ``threads`` row, its dynamic tools, its
turn spans and their state, with each statement's values built from the row types.

Both ways of writing a thread use it: ``StateDb``'s upsert (a thread that may be there)
and ``bulk_insert`` (a batch of threads that are not), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import LogPosition, ThreadRow, TurnSpan

# The row's fields but its position, which is its last (a test holds it so: row_values
# and row_from_sql rely on it)
ROW_FIELDS: Final = tuple(f.name for f in msgspec.structs.fields(ThreadRow))[:-1]
COLUMNS: Final[tuple[str, ...]] = (*ROW_FIELDS, "log_offset", "log_identity")
SELECT_COLUMNS: Final = ", ".join(COLUMNS)
INSERT_THREAD: Final = (
    f"INSERT INTO threads ({SELECT_COLUMNS}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "id")
)
INSERT_TOOL: Final = (
    "INSERT INTO thread_dynamic_tools "
    "(thread_id, position, name, description, input_schema, defer_loading) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(thread_id, position) DO NOTHING"
)
INSERT_TURN: Final = (
    "INSERT INTO thread_turns (thread_id, position, turn_id, log_location, "
    "start_offset, end_offset, ordinal) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_TURN_STATE: Final = (
    "INSERT INTO thread_turns_state (thread_id, turn_count, unordered, log_offset, "
    "log_identity) VALUES (?, ?, ?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET "
    "turn_count = excluded.turn_count, unordered = excluded.unordered, "
    "log_offset = excluded.log_offset, log_identity = excluded.log_identity"
)


def row_values(row: ThreadRow) -> tuple[Any, ...]:
    """``INSERT_THREAD``'s values for ``row``: its fields in order, the position as two.
    Booleans stay booleans: SQLite binds them as the integers they are, and PostgreSQL
    wants them so."""
    # astuple, not a getattr per field: this runs for every row a backfill writes
    *values, position = msgspec.structs.astuple(row)
    return (*values, position.offset, position.identity)


def tool_values(thread_id: str, position: int, tool: DynamicToolSpec) -> tuple[Any, ...]:
    """``INSERT_TOOL``'s values for a thread's tool at ``position``."""
    return (
        thread_id,
        position,
        tool.name,
        tool.description,
        msgspec.json.encode(tool.input_schema).decode(),
        int(tool.defer_loading),
    )


def turn_values(thread_id: str, position: int, span: TurnSpan) -> tuple[Any, ...]:
    """``INSERT_TURN``'s values for a thread's turn at ``position``."""
    return (
        thread_id,
        position,
        span.turn_id,
        span.log_location,
        span.start_offset,
        span.end_offset,
        span.ordinal,
    )


def unordered_in(spans: Sequence[TurnSpan]) -> int:
    """How many of ``spans`` have no ordinal (the turn state counts them)."""
    return sum(1 for span in spans if span.ordinal is None)


def turn_state_values(
    thread_id: str, turn_count: int, unordered: int, position: LogPosition
) -> tuple[Any, ...]:
    """``UPSERT_TURN_STATE``'s values: a thread's turn count and unordered spans, and
    where its log was read to."""
    return (thread_id, turn_count, unordered, position.offset, position.identity)
