"""``thread/list``: pages of threads from the index, or from the files when there is none.

* The index first, when there is one and its backfill is complete: keyset pages; a row
  whose log has vanished is dropped from the answer and deleted, and counted in
  ``ListMetrics.stale_rows_dropped`` (the page may come back short, as in Codex).
* Otherwise the logs themselves, reading only their heads: a thread is listed when its
  log has a ``session_meta`` and a ``user_message`` (Codex's rule). Created-at order is
  the time its location records (the file name's) then id; updated-at order is its
  modification time in whole seconds then id.

Filters: ``archived``, ``modelProviders`` (empty = all; a thread without a provider counts
as the default one), ``sourceKinds`` (v2 names; none given = the interactive ``cli`` and
``vscode``), ``cwd`` (exact), ``searchTerm`` (case-sensitive substring of the title). Page
size 25 by default, clamped to 1..100. Cursors are opaque and validated
(``projections.cursor``); both paths answer one ``ThreadQuery``.
As the real 0.105.0 server does, a full page always carries a
next cursor (its last item), even when nothing follows: a listing of exactly 100 threads in
pages of 25 ends with an empty fifth page. Names are joined from ``session_index.jsonl``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Final, cast

import msgspec

from threadlog.events.errors import InvalidRequestError
from threadlog.events.rows import SORT_KEYS, Anchor, Direction, ThreadQuery, ThreadRow
from threadlog.events.sources import INTERACTIVE_SOURCE_KINDS, SOURCE_KINDS
from threadlog.events.views import ReadState, Thread
from threadlog.projections.cursor import CursorError, decode_cursor, encode_cursor
from threadlog.projections.index.lineage import history_lines
from threadlog.projections.metadata import (
    DEFAULT_MODEL_PROVIDER,
    MetadataExtractor,
    whole_seconds_ms,
)
from threadlog.projections.thread_view import read_state, thread_view
from threadlog.store.ports import IndexStore, LogRef, LogStore
from threadlog.store.reader import head_summary

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
    section_id: str | None = None


class ListResult(msgspec.Struct, frozen=True, rename="camel"):
    """The result of ``thread/list``.

    ``backwardsCursor`` pages the other way from this page's first thread (included), as
    0.171 offers it; ``readStates`` gives each listed thread's read state.
    """

    data: list[Thread]
    next_cursor: str | None = None
    backwards_cursor: str | None = None
    read_states: dict[str, ReadState] = {}


class ListMetrics:
    """Counters a long-lived server exposes (and tests read)."""

    def __init__(self) -> None:
        self.stale_rows_dropped = 0
        self.db_pages = 0
        self.fs_pages = 0
        self.heads_read = 0


def resolve(params: ListParams, default_provider: str = DEFAULT_MODEL_PROVIDER) -> ThreadQuery:
    """Validate and default the params into the query both paths answer; ``ListError``.

    Without ``modelProviders`` only the default provider's threads are listed (as Codex
    lists its configured provider's); an empty list lists every provider.
    """
    sort_key = params.sort_key or "created_at"
    if sort_key not in SORT_KEYS:
        raise ListError(
            f"unknown sortKey {sort_key!r}: expected created_at, updated_at or recency_at"
        )
    direction = params.sort_direction or "desc"
    if direction not in ("asc", "desc"):
        raise ListError(f"unknown sortDirection {direction!r}: expected asc or desc")
    kinds = tuple(params.source_kinds or INTERACTIVE_SOURCE_KINDS)
    unknown = [k for k in kinds if k not in SOURCE_KINDS]
    if unknown:
        raise ListError(f"unknown sourceKinds {unknown!r}")
    limit = DEFAULT_LIMIT if params.limit is None else min(max(params.limit, 1), MAX_LIMIT)
    anchor = None
    if params.cursor is not None:
        try:
            anchor = decode_cursor(params.cursor, sort_key=sort_key)
        except CursorError as exc:
            raise ListError(str(exc)) from None
    return ThreadQuery(
        sort_key=sort_key,
        direction=cast(Direction, direction),
        limit=limit,
        anchor=anchor,
        archived=bool(params.archived),
        model_providers=(default_provider,)
        if params.model_providers is None
        else tuple(params.model_providers),
        source_kinds=kinds,
        cwd=params.cwd,
        search=params.search_term or None,
    )


def index_is_usable(index: IndexStore | None) -> bool:
    """The index may answer only once its backfill is complete."""
    return index is not None and index.backfill_state().status == "complete"


def list_page(
    logs: LogStore,
    params: ListParams,
    *,
    index: IndexStore | None = None,
    metrics: ListMetrics | None = None,
    default_provider: str = DEFAULT_MODEL_PROVIDER,
) -> ListResult:
    """One page of ``thread/list``."""
    if params.section_id is not None or params.sort_key == "section_position":
        # 0.171's thread sections are folders a user makes in its app; threadlog keeps none,
        # so no thread is in any section (and only a section has positions to sort by).
        if params.section_id is None:
            raise ListError("sortKey section_position lists one section: give its sectionId")
        return ListResult(data=[])
    query = resolve(params, default_provider)
    metrics = metrics if metrics is not None else ListMetrics()
    if index is not None and index_is_usable(index):
        rows, next_cursor = _from_index(index, logs, query, metrics)
        metrics.db_pages += 1
    else:
        rows, next_cursor = _from_logs(logs, query, metrics, default_provider)
        metrics.fs_pages += 1
    names = logs.names_of([r.id for r in rows]) if rows else {}
    data = [thread_view(row, name=names.get(row.id), listed=True) for row in rows]
    return ListResult(
        data=data,
        next_cursor=next_cursor,
        backwards_cursor=backwards_cursor(rows[0], query) if rows else None,
        read_states={row.id: read_state(row.id, row.first_turn_id) for row in rows},
    )


def hidden_threads(
    logs: LogStore,
    params: ListParams,
    *,
    index: IndexStore | None = None,
    default_provider: str = DEFAULT_MODEL_PROVIDER,
) -> Counter[str]:
    """How many threads the default filters hid from a listing (for the command line).

    Counted only for the filters the caller left to their defaults: ``source:<kind>`` for
    threads of a non-interactive source, ``provider`` for threads of another provider.
    Reads every row (the index's, or each log's head), so it is for a person's listing,
    not for a server's.
    """
    query = resolve(params, default_provider)
    everything = msgspec.structs.replace(query, source_kinds=None, model_providers=())
    if index is not None and index_is_usable(index):
        rows = index.rows()
    else:
        found = (
            _head_row(logs, ref, default_provider) for ref in logs.logs(archived=query.archived)
        )
        rows = [row for row in itertools.islice(found, MAX_SCAN_FILES) if row is not None]
    hidden: Counter[str] = Counter()
    for row in rows:
        if not everything.matches(row):
            continue
        provider_ok = not query.model_providers or row.model_provider in query.model_providers
        source_ok = query.source_kinds is None or row.source_kind in query.source_kinds
        if params.source_kinds is None and provider_ok and not source_ok:
            hidden[f"source:{row.source_kind}"] += 1
        elif params.model_providers is None and source_ok and not provider_ok:
            hidden["provider"] += 1
    return hidden


def backwards_cursor(first: ThreadRow, query: ThreadQuery) -> str:
    """A cursor that lists the other way starting at ``first`` (inclusive).

    Anchors are exclusive, so it sits just outside ``first``'s sort value: a millisecond
    before it for a descending page (whose way back ascends), after it for an ascending one.
    """
    value = first.sort_value(query.sort_key)
    step = -1 if query.direction == "desc" else 1
    return encode_cursor(Anchor(query.sort_key, value + step, first.id))


def _from_index(
    index: IndexStore, logs: LogStore, query: ThreadQuery, metrics: ListMetrics
) -> tuple[list[ThreadRow], str | None]:
    page = index.page(query)
    rows = []
    present = logs.present(row.rollout_path for row in page.rows)
    for row in page.rows:
        if row.rollout_path in present:
            rows.append(row)
        else:
            index.delete(row.id)
            metrics.stale_rows_dropped += 1
    next_cursor = None
    if page.next_anchor is not None:
        # As 0.171 answers: a cursor only when more rows follow (0.105 also gave one after
        # a full last page, which led to an empty page).
        next_cursor = encode_cursor(page.next_anchor)
    return rows, next_cursor


def _candidates(
    logs: LogStore, query: ThreadQuery, default_provider: str
) -> list[tuple[int, str, LogRef, ThreadRow | None]]:
    """Every log as (sort value ms, id, ref, its row if it had to be read), in listing order,
    after the anchor. Recency is only known from a log's head, so sorting by it reads them."""
    out: list[tuple[int, str, LogRef, ThreadRow | None]] = []
    for ref in logs.logs(archived=query.archived):
        row: ThreadRow | None = None
        if query.sort_key == "created_at":
            value = whole_seconds_ms(ref.created_ms)
        elif query.sort_key == "recency_at":
            row = _head_row(logs, ref, default_provider)
            if row is None:
                continue
            value = whole_seconds_ms(row.sort_value("recency_at"))
        else:
            try:
                value = whole_seconds_ms(logs.stat(ref).modified_ms)
            except OSError:
                continue
        out.append((value, ref.thread_id, ref, row))
    descending = query.direction == "desc"
    out.sort(key=lambda c: (c[0], c[1]), reverse=descending)
    if query.anchor is not None:
        anchor = (query.anchor.value_ms, query.anchor.thread_id)
        if descending:
            out = [c for c in out if (c[0], c[1]) < anchor]
        else:
            out = [c for c in out if (c[0], c[1]) > anchor]
    return out


def _from_logs(
    logs: LogStore, query: ThreadQuery, metrics: ListMetrics, default_provider: str
) -> tuple[list[ThreadRow], str | None]:
    picked: list[tuple[int, str, ThreadRow]] = []
    scanned = 0
    last_scanned: tuple[int, str] | None = None
    candidates = _candidates(logs, query, default_provider)
    # a search also matches names, which live in the name index, not in the logs' heads
    names = logs.names_of([c[1] for c in candidates]) if query.search else {}
    for value, thread_id, ref, read in candidates:
        if scanned >= MAX_SCAN_FILES:
            break
        scanned += 1
        last_scanned = (value, thread_id)
        row = read if read is not None else _head_row(logs, ref, default_provider)
        metrics.heads_read += 1
        if row is not None and thread_id in names:
            row = msgspec.structs.replace(row, name=names[thread_id])
        if row is None or not query.matches(row):
            continue
        picked.append((value, thread_id, row))
        if len(picked) > query.limit:  # one more than a page: another page follows
            break
    next_cursor = None
    if len(picked) > query.limit:
        picked = picked[: query.limit]
        value, thread_id, _ = picked[-1]
        next_cursor = encode_cursor(Anchor(query.sort_key, value, thread_id))
    elif scanned >= MAX_SCAN_FILES and last_scanned is not None:
        next_cursor = encode_cursor(Anchor(query.sort_key, *last_scanned))
    return [row for _, _, row in picked], next_cursor


def _head_row(logs: LogStore, ref: LogRef, default_provider: str) -> ThreadRow | None:
    try:
        head = head_summary(history_lines(logs, ref))
        stat = logs.stat(ref)
    except OSError:
        return None
    if head.meta is None or head.first_user_message is None:
        return None
    extractor = MetadataExtractor(
        thread_id=ref.thread_id,
        rollout_path=ref.location,
        created_at_ms=ref.created_ms,
        default_provider=default_provider,
    )
    extractor.feed(head.meta)
    # A fork's head starts with its parent's turns: their start is not the fork's recency.
    started = head.task_started if head.meta.base is None else None
    for seen in (head.turn_context, started):
        if seen is not None:
            extractor.feed(seen)
    extractor.feed(head.first_user_message)
    return extractor.entry(
        updated_at_ms=whole_seconds_ms(stat.modified_ms), archived=ref.archived
    ).row
