"""Threads the state DB has never seen, written a batch at a time.

A backfill or a replay writes mostly threads the index does not hold yet. The upsert is
written for a thread that may be there: per thread it reads back the git columns, the turn
state, the count of spans it will replace, deletes them, then inserts, five statements
before its inserts and most of a replay's commit time. For a thread with no row, no tools,
no spans and no turn state every one of those reads has a known answer, nothing, so a batch
of such threads is one lookup of the ids present and one ``executemany`` per table, and
stores exactly what the upsert would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import apsw

from threadlog.events.rows import IndexEntry
from threadlog.store.row_sql import (
    INSERT_THREAD,
    INSERT_TOOL,
    INSERT_TURN,
    UPSERT_TURN_STATE,
    row_values,
    tool_values,
    turn_state_values,
    turn_values,
    unordered_in,
)

_CHUNK: Final = 500  # ids bound per lookup, well under SQLite's limit on parameters


def absent_ids(conn: apsw.Connection, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` (checked thread ids) with nothing stored under them in any table.

    The ``threads`` table alone answers: every other table's rows reference a thread's row
    (foreign keys, which every connection enforces), so none outlives it."""
    present: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(f"SELECT id FROM threads WHERE id IN ({marks})", chunk)
        present.update(row[0] for row in rows)
    return set(ids) - present


def insert_absent(conn: apsw.Connection, records: Sequence[IndexEntry]) -> None:
    """Write threads ``absent_ids`` found absent (distinct ids, spans from the first turn),
    a table at a time."""
    conn.executemany(INSERT_THREAD, [row_values(r.row) for r in records])
    tools = [tool_values(r.row.id, n, t) for r in records for n, t in enumerate(r.dynamic_tools)]
    if tools:
        conn.executemany(INSERT_TOOL, tools)
    turns = [
        turn_values(r.row.id, n, span)
        for r in records
        if r.turns is not None
        for n, span in enumerate(r.turns)
    ]
    if turns:
        conn.executemany(INSERT_TURN, turns)
    states = [
        turn_state_values(r.row.id, len(r.turns), unordered_in(r.turns), r.row.log_position)
        for r in records
        if r.turns is not None
    ]
    if states:
        conn.executemany(UPSERT_TURN_STATE, states)
