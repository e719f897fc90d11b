"""Keyset-paginated thread listing from the state DB.

Pages are cut by the last row's ``(sort value, id)``, so a page 90,000 rows deep costs the
same as the first: the query seeks in an index instead of skipping rows. The query is
validated (limit, sort, an anchor of the same sort key) before any SQL runs. Filters are
bound parameters; ``IN`` lists are built from ``?`` placeholders only. The meaning of every
filter is ``ThreadQuery.matches``; the SQL here must agree with it (the listing contract
suite holds both to the same answers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from threadlog.events.ids import parse_thread_id
from threadlog.events.rows import Anchor, ThreadPage, ThreadQuery
from threadlog.store.row_reads import row_from_sql
from threadlog.store.row_sql import SELECT_COLUMNS
from threadlog.store.statedb import StateDb

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


def listing_filters(query: ThreadQuery, param: str = "?") -> tuple[str, list[str], list[Any]]:
    """The sort column, the WHERE terms and their bindings every backend's listing shares
    (``param``: the driver's placeholder); the search term is left to the backend."""
    query.validate()
    column = _COLUMN[query.sort_key]
    where = [f"archived = {param}", "first_user_message <> ''"]
    args: list[Any] = [query.archived]  # a bool: SQLite stores it as 0/1, PostgreSQL as bool
    if query.anchor is not None:
        op = "<" if query.direction == "desc" else ">"
        where.append(f"({column}, id) {op} ({param}, {param})")
        args += [int(query.anchor.value_ms), parse_thread_id(query.anchor.thread_id)]
    if query.model_providers:
        marks = ", ".join([param] * len(query.model_providers))
        where.append(f"model_provider IN ({marks})")
        args += list(query.model_providers)
    if query.source_kinds:
        marks = ", ".join([param] * len(query.source_kinds))
        where.append(f"source_kind IN ({marks})")
        args += list(query.source_kinds)
    if query.cwd is not None:
        where.append(f"cwd = {param}")
        args.append(query.cwd)
    return column, where, args


def build_list_sql(query: ThreadQuery, *, rare: bool = False) -> tuple[str, list[Any]]:
    """The SQL and bindings of a listing query (exposed so tests can EXPLAIN it); ``rare``
    says a search term has few matches (``count_matches``)."""
    column, where, args = listing_filters(query)
    source = f"INDEXED BY {_INDEX[query.sort_key]}"
    if query.search and rare:
        # few matches: the trigram index finds them, and they are sorted
        where.append(
            "threads.rowid IN (SELECT rowid FROM threads_search WHERE threads_search MATCH ?)"
        )
        args.append(match_phrase(query.search))
        source = "NOT INDEXED"
    elif query.search:
        # many matches (or a term too short for trigrams): walk the listing index in
        # order, keeping the rows that contain the term; a page fills after about
        # limit * rows / matches rows
        where.append("(instr(title, ?) > 0 OR instr(coalesce(name, ''), ?) > 0)")
        args += [query.search, query.search]
    return page_sql(query, column, where, args, source=source)


def page_sql(
    query: ThreadQuery,
    column: str,
    where: list[str],
    args: list[Any],
    *,
    source: str = "",
    param: str = "?",
) -> tuple[str, list[Any]]:
    """A listing page's statement from its filters: in the sort order, one row past the
    page (whether another follows), for any SQL backend (``source``: an index hint)."""
    order = "DESC" if query.direction == "desc" else "ASC"
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM threads {source} "
        f"WHERE {' AND '.join(where)} ORDER BY {column} {order}, id {order} LIMIT {param}"
    )
    return sql, [*args, query.limit + 1]


RARE_MATCHES: Final = 1500
"""Below this many matches a search page looks its matches up in the trigram index and
sorts them; from this many on it walks the listing index and keeps the matching rows (a
page then fills after about limit * rows / matches rows). Near sqrt(limit * rows) for
100,000 rows, where the two cost the same."""


def searchable(term: str) -> bool:
    """Whether the trigram index can answer ``term`` (three characters or more)."""
    return len(term) >= 3


def match_phrase(term: str) -> str:
    """``term`` as one FTS5 phrase: matched literally, as a substring."""
    return '"' + term.replace('"', '""') + '"'


def count_matches(db: StateDb, term: str, limit: int) -> int:
    """How many rows match ``term``, counting no further than ``limit``."""
    rows = db.query(
        "SELECT count(*) FROM (SELECT 1 FROM threads_search WHERE threads_search MATCH ? LIMIT ?)",
        [match_phrase(term), limit],
    )
    return int(rows[0][0])


def keyset_page(query: ThreadQuery, fetch: Callable[[], Sequence[Any]]) -> ThreadPage:
    """The page a listing query makes of its ``limit + 1`` fetched rows, for every SQL
    backend (validated first; an empty list of source kinds lists nothing, unfetched)."""
    query.validate()
    if query.source_kinds is not None and not query.source_kinds:
        return ThreadPage(rows=[], next_anchor=None)
    rows = [row_from_sql(r) for r in fetch()]
    if len(rows) <= query.limit:
        return ThreadPage(rows=rows, next_anchor=None)
    rows = rows[: query.limit]
    return ThreadPage(rows=rows, next_anchor=Anchor.after(rows[-1], query.sort_key))


def page_threads(db: StateDb, query: ThreadQuery) -> ThreadPage:
    """One page of threads (hidden: rows without a first user message)."""

    def fetch() -> Sequence[Any]:
        term = query.search or ""
        rare = searchable(term) and count_matches(db, term, RARE_MATCHES) < RARE_MATCHES
        return db.query(*build_list_sql(query, rare=rare))

    return keyset_page(query, fetch)
