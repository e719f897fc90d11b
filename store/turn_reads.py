"""Reading the turn index (``thread_turns``, ``thread_turns_state``) on any SQL backend.

SQLite and PostgreSQL keep the same two tables; only the driver's placeholder differs
(``?`` for apsw, ``%s`` for psycopg) and SQLite names the index a page must seek. Each
backend passes its one-statement ``query`` and its placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from threadlog.events.ids import parse_thread_id
from threadlog.events.rows import LogPosition, TurnIndexState, TurnSpan

SPAN_COLUMNS: Final = "turn_id, log_location, start_offset, end_offset, ordinal"
Query = Callable[[str, Sequence[Any]], list[Any]]


def read_turn_state(query: Query, thread_id: str, param: str = "?") -> TurnIndexState | None:
    """What the index knows of a thread's turns, or None when none were ever upserted."""
    tid = parse_thread_id(thread_id)
    state = query(
        "SELECT turn_count, unordered, log_offset, log_identity FROM thread_turns_state "
        f"WHERE thread_id = {param}",
        (tid,),
    )
    if not state:
        return None
    count, unordered, offset, identity = state[0]
    last = query(
        f"SELECT {SPAN_COLUMNS} FROM thread_turns WHERE thread_id = {param} AND position = {param}",
        (tid, count - 1),
    )
    span = TurnSpan(*last[0]) if last else None
    return TurnIndexState(count, unordered, LogPosition(offset, identity), span)


def read_turn_spans(query: Query, thread_id: str, param: str = "?") -> list[TurnSpan]:
    """All of a thread's turn spans in order."""
    rows = query(
        f"SELECT {SPAN_COLUMNS} FROM thread_turns WHERE thread_id = {param} ORDER BY position",
        (parse_thread_id(thread_id),),
    )
    return [TurnSpan(*r) for r in rows]


def read_turn_page(
    query: Query,
    thread_id: str,
    *,
    anchor: int | None,
    include_anchor: bool,
    limit: int,
    newest_first: bool,
    source: str = "thread_turns",
    param: str = "?",
) -> list[TurnSpan]:
    """Up to ``limit`` spans by ordinal, after ``anchor`` in the order asked (``source``:
    the table, hinted)."""
    where = f"thread_id = {param} AND ordinal IS NOT NULL"
    args: list[Any] = [parse_thread_id(thread_id)]
    if anchor is not None:
        op = ("<" if newest_first else ">") + ("=" if include_anchor else "")
        where += f" AND ordinal {op} {param}"
        args.append(anchor)
    order = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT {SPAN_COLUMNS} FROM {source} WHERE {where} ORDER BY ordinal {order} LIMIT {param}"
    )
    return [TurnSpan(*r) for r in query(sql, [*args, limit])]
