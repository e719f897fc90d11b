"""Index rows read back from SQL, for every SQL backend (SQLite and PostgreSQL): a
``ThreadRow`` from a ``SELECT`` of its columns, a thread's dynamic tools from theirs.

The writing side is ``row_sql``; the turn spans' reads are ``turn_reads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import LogPosition, ThreadRow
from threadlog.store.row_sql import COLUMNS, SELECT_COLUMNS
from threadlog.store.turn_reads import Query

# The columns are the row's fields in order, its position last as two columns (a test
# holds them so): a row is built positionally (keywords were a tenth of a listing page).
_ARCHIVED: Final = COLUMNS.index("archived")


def row_from_sql(values: Sequence[Any]) -> ThreadRow:
    """A ``ThreadRow`` from a ``SELECT {SELECT_COLUMNS}`` result row."""
    if len(values) != len(COLUMNS):
        raise ValueError(f"a threads row has {len(COLUMNS)} columns, not {len(values)}")
    return ThreadRow(  # type: ignore[call-arg]  # mypy cannot count the spread columns
        *values[:_ARCHIVED],
        bool(values[_ARCHIVED]),
        *values[_ARCHIVED + 1 : -2],
        LogPosition(values[-2], values[-1]),
    )


def tools_from_sql(rows: Sequence[Sequence[Any]]) -> list[DynamicToolSpec] | None:
    """Dynamic tools from ``SELECT name, description, input_schema, defer_loading`` rows
    (None when there are none); shared by every SQL backend."""
    if not rows:
        return None
    return [
        DynamicToolSpec(
            name=name,
            description=description,
            input_schema=msgspec.json.decode(schema),
            defer_loading=bool(defer),
        )
        for name, description, schema, defer in rows
    ]


def read_row(query: Query, thread_id: str, param: str = "?") -> ThreadRow | None:
    """One thread's row through a backend's ``query`` (``param``: its placeholder)."""
    tid = parse_thread_id(thread_id)
    rows = query(f"SELECT {SELECT_COLUMNS} FROM threads WHERE id = {param}", (tid,))
    return row_from_sql(rows[0]) if rows else None


def read_dynamic_tools(
    query: Query, thread_id: str, param: str = "?"
) -> list[DynamicToolSpec] | None:
    """A thread's dynamic tools in declaration order (None when it declared none)."""
    return tools_from_sql(
        query(
            "SELECT name, description, input_schema, defer_loading FROM thread_dynamic_tools "
            f"WHERE thread_id = {param} ORDER BY position",
            (parse_thread_id(thread_id),),
        )
    )
