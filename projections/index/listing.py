"""``thread/list``: pages of threads from the index, or from the files when there is none.

* DB first, when the database exists and its backfill is complete: keyset pages; a row
  whose file has vanished is dropped from the answer and deleted, and counted in
  ``ListMetrics.stale_rows_dropped`` (the page may come back short, as in Codex).
* Otherwise the filesystem, reading only file heads: a thread is listed when its file has a
  ``session_meta`` and a ``user_message`` (Codex's rule). Created-at order is the file
  name's time then id; updated-at order is the mtime in whole seconds then id.

Filters: ``archived``, ``modelProviders`` (empty = all; a thread without a provider counts
as the default one), ``sourceKinds`` (v2 names; none given = the interactive ``cli`` and
``vscode``), ``cwd`` (exact), ``searchTerm`` (case-sensitive substring of the title). Page
size 25 by default, clamped to 1..100. Cursors are opaque and validated
(``projections.cursor``). As the real 0.105.0 server does, a full page always carries a
next cursor (its last item), even when nothing follows: a listing of exactly 100 threads in
pages of 25 ends with an empty fifth page. Names are joined from ``session_index.jsonl``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec

from threadlog.events.errors import InvalidRequestError
from threadlog.events.rows import ThreadRow
from threadlog.events.sources import INTERACTIVE_SOURCE_KINDS, SOURCE_KINDS
from threadlog.events.views import Thread
from threadlog.projections.cursor import (
    SORT_KEYS,
    Cursor,
    CursorError,
    decode_cursor,
    encode_cursor,
)
from threadlog.projections.metadata import (
    DEFAULT_MODEL_PROVIDER,
    MetadataExtractor,
    whole_seconds_ms,
)
from threadlog.projections.thread_view import thread_view
from threadlog.store.layout import iter_rollout_files, parse_rollout_file_name
from threadlog.store.lease import get_backfill_state
from threadlog.store.names import find_thread_names
from threadlog.store.reader import read_head_summary
from threadlog.store.statedb import StateDb
from threadlog.store.thread_listing import Anchor, ThreadQuery
from threadlog.store.thread_listing import list_threads as db_list_threads

DEFAULT_LIMIT: Final = 25
MAX_LIMIT: Final = 100
MAX_SCAN_FILES: Final = 10_000


class ListError(InvalidRequestError):
    """Invalid listing parameters (bad sort, source kind or cursor)."""


class ListParams(msgspec.Struct, frozen=True, rename="camel"):
    """The params of ``thread/list``."""

    cursor: str | None = None
    limit: int | None = None
    sort_key: str | None = None
    sort_direction: str | None = None
    model_providers: list[str] | None = None
    source_kinds: list[str] | None = None
    archived: bool | None = None
    cwd: str | None = None
    search_term: str | None = None


class ListResult(msgspec.Struct, frozen=True, rename="camel"):
    """The result of ``thread/list``."""

    data: list[Thread]
    next_cursor: str | None = None


class ListMetrics:
    """Counters a long-lived server exposes (and tests read)."""

    def __init__(self) -> None:
        self.stale_rows_dropped = 0
        self.db_pages = 0
        self.fs_pages = 0
        self.heads_read = 0


class _Resolved(msgspec.Struct, frozen=True):
    sort_key: str
    descending: bool
    limit: int
    cursor: Cursor | None
    providers: tuple[str, ...]
    kinds: tuple[str, ...]
    archived: bool


def resolve(params: ListParams) -> _Resolved:
    """Validate and default the params; raises ``ListError``."""
    sort_key = params.sort_key or "created_at"
    if sort_key not in SORT_KEYS:
        raise ListError(f"unknown sortKey {sort_key!r}: expected created_at or updated_at")
    direction = params.sort_direction or "desc"
    if direction not in ("asc", "desc"):
        raise ListError(f"unknown sortDirection {direction!r}: expected asc or desc")
    kinds = tuple(params.source_kinds or INTERACTIVE_SOURCE_KINDS)
    unknown = [k for k in kinds if k not in SOURCE_KINDS]
    if unknown:
        raise ListError(f"unknown sourceKinds {unknown!r}")
    limit = DEFAULT_LIMIT if params.limit is None else min(max(params.limit, 1), MAX_LIMIT)
    cursor = None
    if params.cursor is not None:
        try:
            cursor = decode_cursor(params.cursor, sort_key=sort_key)  # type: ignore[arg-type]
        except CursorError as exc:
            raise ListError(str(exc)) from None
    return _Resolved(
        sort_key=sort_key,
        descending=direction == "desc",
        limit=limit,
        cursor=cursor,
        providers=tuple(params.model_providers or ()),
        kinds=kinds,
        archived=bool(params.archived),
    )


def db_is_usable(db: StateDb | None) -> bool:
    """The index may answer only once its backfill is complete."""
    return db is not None and get_backfill_state(db).status == "complete"


def list_threads(
    home: Path,
    params: ListParams,
    *,
    db: StateDb | None = None,
    metrics: ListMetrics | None = None,
    default_provider: str = DEFAULT_MODEL_PROVIDER,
) -> ListResult:
    """One page of ``thread/list``."""
    query = resolve(params)
    metrics = metrics if metrics is not None else ListMetrics()
    if db is not None and db_is_usable(db):
        rows, next_cursor = _from_db(db, query, params, metrics)
        metrics.db_pages += 1
    else:
        rows, next_cursor = _from_files(home, query, params, metrics, default_provider)
        metrics.fs_pages += 1
    names = find_thread_names(home, [r.id for r in rows]) if rows else {}
    data = [thread_view(row, name=names.get(row.id)) for row in rows]
    return ListResult(data=data, next_cursor=next_cursor)


def _from_db(
    db: StateDb, query: _Resolved, params: ListParams, metrics: ListMetrics
) -> tuple[list[ThreadRow], str | None]:
    anchor = None
    if query.cursor is not None:
        anchor = Anchor(query.cursor.sort_key, query.cursor.value_ms, query.cursor.thread_id)
    page = db_list_threads(
        db,
        ThreadQuery(
            sort_key=query.sort_key,  # type: ignore[arg-type]
            direction="desc" if query.descending else "asc",
            limit=query.limit,
            anchor=anchor,
            archived=query.archived,
            model_providers=query.providers,
            source_kinds=query.kinds,
            cwd=params.cwd,
            search=params.search_term or None,
        ),
    )
    rows = []
    full = len(page.rows) == query.limit
    for row in page.rows:
        if os.path.exists(row.rollout_path):
            rows.append(row)
        else:
            db.delete_thread(row.id)
            metrics.stale_rows_dropped += 1
    next_cursor = None
    if full:
        last = page.rows[-1]
        value = last.created_at_ms if query.sort_key == "created_at" else last.updated_at_ms
        next_cursor = encode_cursor(Cursor(query.sort_key, value, last.id))  # type: ignore[arg-type]
    return rows, next_cursor


def _candidates(home: Path, query: _Resolved) -> list[tuple[int, str, Path]]:
    """Every rollout file as (sort value ms, id, path), in listing order."""
    out: list[tuple[int, str, Path]] = []
    for path in iter_rollout_files(home, archived=query.archived):
        parsed = parse_rollout_file_name(path.name)
        if parsed is None:
            continue
        if query.sort_key == "created_at":
            value = int(parsed.timestamp.timestamp()) * 1000
        else:
            try:
                value = whole_seconds_ms(path.stat().st_mtime_ns // 1_000_000)
            except OSError:
                continue
        out.append((value, parsed.thread_id, path))
    out.sort(key=lambda c: (c[0], c[1]), reverse=query.descending)
    if query.cursor is not None:
        anchor = (query.cursor.value_ms, query.cursor.thread_id)
        if query.descending:
            out = [c for c in out if (c[0], c[1]) < anchor]
        else:
            out = [c for c in out if (c[0], c[1]) > anchor]
    return out


def _from_files(
    home: Path,
    query: _Resolved,
    params: ListParams,
    metrics: ListMetrics,
    default_provider: str,
) -> tuple[list[ThreadRow], str | None]:
    picked: list[tuple[int, str, ThreadRow]] = []
    scanned = 0
    last_scanned: tuple[int, str] | None = None
    for value, thread_id, path in _candidates(home, query):
        if scanned >= MAX_SCAN_FILES:
            break
        scanned += 1
        last_scanned = (value, thread_id)
        row = _head_row(path, thread_id, query, default_provider)
        metrics.heads_read += 1
        if row is None or not _matches(row, query, params, default_provider):
            continue
        picked.append((value, thread_id, row))
        if len(picked) >= query.limit:
            break
    next_cursor = None
    if len(picked) >= query.limit:
        picked = picked[: query.limit]
        value, thread_id, _ = picked[-1]
        next_cursor = encode_cursor(Cursor(query.sort_key, value, thread_id))  # type: ignore[arg-type]
    elif scanned >= MAX_SCAN_FILES and last_scanned is not None:
        next_cursor = encode_cursor(Cursor(query.sort_key, *last_scanned))  # type: ignore[arg-type]
    return [row for _, _, row in picked], next_cursor


def _head_row(
    path: Path, thread_id: str, query: _Resolved, default_provider: str
) -> ThreadRow | None:
    try:
        head = read_head_summary(path)
        stat = path.stat()
    except OSError:
        return None
    if head.meta is None or head.first_user_message is None:
        return None
    parsed = parse_rollout_file_name(path.name)
    created = int(parsed.timestamp.timestamp() * 1000) if parsed else 0
    extractor = MetadataExtractor(
        thread_id=thread_id,
        rollout_path=str(path),
        created_at_ms=created,
        default_provider=default_provider,
    )
    extractor.feed(head.meta)
    extractor.feed(head.first_user_message)
    return extractor.record(
        updated_at_ms=whole_seconds_ms(stat.st_mtime_ns // 1_000_000), archived=query.archived
    ).row


def _matches(row: ThreadRow, query: _Resolved, params: ListParams, default_provider: str) -> bool:
    if not row.first_user_message:
        return False
    if row.source_kind not in query.kinds:
        return False
    if query.providers and (row.model_provider or default_provider) not in query.providers:
        return False
    if params.cwd is not None and row.cwd != params.cwd:
        return False
    return not params.search_term or params.search_term in row.title
