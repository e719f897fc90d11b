"""Keyset-paginated thread listing from the state DB.

Pages are cut by the last row's ``(sort value, id)``, so a page 90,000 rows deep costs the
same as the first: the query seeks in an index instead of skipping rows. The anchor is a
typed value that names its sort key; an anchor for another key is refused (``AnchorError``)
before any SQL runs. Filters are bound parameters; ``IN`` lists are built from ``?``
placeholders only.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rows import ThreadRow
from threadlog.store.statedb import SELECT_COLUMNS, StateDb, row_from_sql

SortKey = Literal["created_at", "updated_at"]
Direction = Literal["asc", "desc"]
_COLUMN: Final = {"created_at": "created_at_ms", "updated_at": "updated_at_ms"}
_INDEX: Final = {"created_at": "idx_threads_list_created", "updated_at": "idx_threads_list_updated"}
MAX_PAGE: Final = 1000


class AnchorError(ValueError):
    """An anchor that does not belong to the listing it was given to."""


class Anchor(msgspec.Struct, frozen=True):
    """The last row of a page: where the next page starts (exclusive)."""

    sort_key: SortKey
    value_ms: int
    thread_id: str


class ThreadQuery(msgspec.Struct, frozen=True):
    """What to list, in which order, from where."""

    sort_key: SortKey = "created_at"
    direction: Direction = "desc"
    limit: int = 25
    anchor: Anchor | None = None
    archived: bool = False
    model_providers: tuple[str, ...] = ()
    # None lists every source; an empty tuple matches nothing.
    source_kinds: tuple[str, ...] | None = None
    cwd: str | None = None
    search: str | None = None


class ThreadPage(msgspec.Struct, frozen=True):
    """A page of rows and the anchor of the next page (None on the last page)."""

    rows: list[ThreadRow]
    next_anchor: Anchor | None


def build_list_sql(query: ThreadQuery) -> tuple[str, list[Any]]:
    """The SQL and bindings of a listing query (exposed so tests can EXPLAIN it)."""
    if query.sort_key not in _COLUMN or query.direction not in ("asc", "desc"):
        raise ValueError(f"bad sort {query.sort_key!r} {query.direction!r}")
    if not 1 <= query.limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    column = _COLUMN[query.sort_key]
    where = ["archived = ?", "first_user_message <> ''"]
    args: list[Any] = [int(query.archived)]
    if query.anchor is not None:
        anchor = query.anchor
        if anchor.sort_key != query.sort_key:
            raise AnchorError(
                f"anchor is for sort key {anchor.sort_key!r}, listing sorts by {query.sort_key!r}"
            )
        op = "<" if query.direction == "desc" else ">"
        where.append(f"({column}, id) {op} (?, ?)")
        args += [int(anchor.value_ms), parse_thread_id(anchor.thread_id)]
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
        where.append("instr(title, ?) > 0")
        args.append(query.search)
    order = "DESC" if query.direction == "desc" else "ASC"
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM threads INDEXED BY {_INDEX[query.sort_key]} "
        f"WHERE {' AND '.join(where)} ORDER BY {column} {order}, id {order} LIMIT ?"
    )
    args.append(query.limit + 1)
    return sql, args


def list_threads(db: StateDb, query: ThreadQuery) -> ThreadPage:
    """One page of threads (hidden: rows without a first user message)."""
    if query.source_kinds is not None and not query.source_kinds:
        build_list_sql(query)  # still validate the anchor and the limit
        return ThreadPage(rows=[], next_anchor=None)
    sql, args = build_list_sql(query)
    rows = [row_from_sql(r) for r in db.query(sql, args)]
    if len(rows) <= query.limit:
        return ThreadPage(rows=rows, next_anchor=None)
    rows = rows[: query.limit]
    last = rows[-1]
    value = last.created_at_ms if query.sort_key == "created_at" else last.updated_at_ms
    return ThreadPage(rows=rows, next_anchor=Anchor(query.sort_key, value, last.id))
