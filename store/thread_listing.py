"""Keyset-paginated thread listing from the state DB.

Pages are cut by the last row's ``(sort value, id)``, so a page 90,000 rows deep costs the
same as the first: the query seeks in an index instead of skipping rows. The query is
validated (limit, sort, an anchor of the same sort key) before any SQL runs. Filters are
bound parameters; ``IN`` lists are built from ``?`` placeholders only. The meaning of every
filter is ``ThreadQuery.matches``; the SQL here must agree with it (the listing contract
suite holds both to the same answers).
"""

from __future__ import annotations

from typing import Any, Final

from threadlog.events.ids import parse_thread_id
from threadlog.events.rows import Anchor, ThreadPage, ThreadQuery
from threadlog.store.statedb import SELECT_COLUMNS, StateDb, row_from_sql

_COLUMN: Final = {
    "created_at": "created_at_ms",
    "updated_at": "updated_at_ms",
    "recency_at": "coalesce(recency_at_ms, created_at_ms)",  # as idx_threads_list_recency
}
_INDEX: Final = {
    "created_at": "idx_threads_list_created",
    "updated_at": "idx_threads_list_updated",
    "recency_at": "idx_threads_list_recency",
}


def build_list_sql(query: ThreadQuery) -> tuple[str, list[Any]]:
    """The SQL and bindings of a listing query (exposed so tests can EXPLAIN it)."""
    query.validate()
    column = _COLUMN[query.sort_key]
    where = ["archived = ?", "first_user_message <> ''"]
    args: list[Any] = [int(query.archived)]
    if query.anchor is not None:
        op = "<" if query.direction == "desc" else ">"
        where.append(f"({column}, id) {op} (?, ?)")
        args += [int(query.anchor.value_ms), parse_thread_id(query.anchor.thread_id)]
    if query.model_providers:
        where.append(f"model_provider IN ({', '.join('?' * len(query.model_providers))})")
        args += list(query.model_providers)
    if query.source_kinds:
        where.append(f"source_kind IN ({', '.join('?' * len(query.source_kinds))})")
        args += list(query.source_kinds)
    if query.cwd is not None:
        where.append("cwd = ?")
        args.append(query.cwd)
    if query.search:
        where.append("(instr(title, ?) > 0 OR instr(coalesce(name, ''), ?) > 0)")
        args += [query.search, query.search]
    order = "DESC" if query.direction == "desc" else "ASC"
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM threads INDEXED BY {_INDEX[query.sort_key]} "
        f"WHERE {' AND '.join(where)} ORDER BY {column} {order}, id {order} LIMIT ?"
    )
    args.append(query.limit + 1)
    return sql, args


def page_threads(db: StateDb, query: ThreadQuery) -> ThreadPage:
    """One page of threads (hidden: rows without a first user message)."""
    sql, args = build_list_sql(query)
    if query.source_kinds is not None and not query.source_kinds:
        return ThreadPage(rows=[], next_anchor=None)
    rows = [row_from_sql(r) for r in db.query(sql, args)]
    if len(rows) <= query.limit:
        return ThreadPage(rows=rows, next_anchor=None)
    rows = rows[: query.limit]
    return ThreadPage(rows=rows, next_anchor=Anchor.after(rows[-1], query.sort_key))
