"""``thread/turns/list`` over the ports: a page of turns read from the turn index's spans.

A thread whose turns all carry ordinals is paged in the turn index (an ordinal seek for
the page's spans, ``IndexStore.turn_page``); the spans are read with ``LogStore.read_range``
and each is folded on its own, so the last page of a 1 GB thread costs the bytes of its
turns. The index is brought up to date
first (an incremental fold of what the log gained; a full one when its spans are not at the
row's position). Any other thread (seed era, legacy mode, a span that cannot be read) is
folded whole and paged by turn id, as 0.171 does for its legacy threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from threadlog.events.codec import DecodeError, decode_line
from threadlog.events.errors import ThreadNotFoundError
from threadlog.events.ids import new_id, parse_thread_id
from threadlog.events.rows import TurnIndexState, TurnSpan
from threadlog.events.views import Turn, TurnItemsView
from threadlog.projections.history import HistoryBuilder
from threadlog.projections.index.indexer import extract_log, sync_log
from threadlog.projections.index.read_thread import read_thread
from threadlog.projections.turn_spans import OWN_LOG
from threadlog.projections.turns_page import (
    SortDirection,
    TurnsPage,
    decode_ordinal_cursor,
    ordinal_cursors,
    page_by_ordinal,
    page_by_turn_id,
    page_size,
    with_items_view,
)
from threadlog.store.ports import IndexStore, LogRef, LogStore


class TurnsListParams(msgspec.Struct, frozen=True, rename="camel"):
    """``thread/turns/list`` parameters."""

    thread_id: str
    cursor: str | None = None
    limit: int | None = None
    sort_direction: Literal["asc", "desc"] | None = None
    items_view: TurnItemsView | None = None


class TurnsMetrics:
    """How pages were served (tests and benchmarks read these)."""

    def __init__(self) -> None:
        self.span_pages = 0
        self.folded_pages = 0
        self.bytes_read = 0


def synced_turns(logs: LogStore, ref: LogRef, index: IndexStore) -> TurnIndexState | None:
    """Bring the index's turns of a thread up to its log now; what the index then holds."""
    sync_log(index, logs, ref)
    row = index.get(ref.thread_id)
    state = index.turn_state(ref.thread_id)
    if row is not None and state is not None and state.position == row.log_position:
        return state
    # The row moved on without its spans (a live writer keeps rows only): fold it all.
    outcome = extract_log(logs, ref)
    if outcome.entry is None:
        return None
    index.upsert([outcome.entry])
    return index.turn_state(ref.thread_id)


def _index_page(
    index: IndexStore, tid: str, params: TurnsListParams, direction: SortDirection
) -> tuple[list[TurnSpan], str | None, str | None]:
    """A page of spans found in the index by ordinal, and its cursors."""
    anchor = decode_ordinal_cursor(params.cursor, tid) if params.cursor is not None else None
    size = page_size(params.limit)
    spans = index.turn_page(
        tid,
        anchor=anchor.rollout_ordinal if anchor else None,
        include_anchor=anchor.include_anchor if anchor else False,
        limit=size + 1,
        newest_first=direction == "desc",
    )
    more = len(spans) > size
    spans = spans[:size]
    ordinals = [s.ordinal for s in spans if s.ordinal is not None]  # all have one here
    forwards, backwards = ordinal_cursors(tid, ordinals, more=more)
    return spans, forwards, backwards


def _spans_page(
    logs: LogStore,
    ref: LogRef,
    index: IndexStore | None,
    params: TurnsListParams,
    direction: SortDirection,
) -> tuple[list[TurnSpan], str | None, str | None] | None:
    """The page's spans when every turn has an ordinal (else None: fold the thread)."""
    tid = ref.thread_id
    if index is not None:
        state = synced_turns(logs, ref, index)
        if state is None or state.count == 0 or state.unordered:
            return None
        return _index_page(index, tid, params, direction)
    outcome = extract_log(logs, ref)
    spans = (outcome.entry.turns or []) if outcome.entry is not None else []
    ordinals = [s.ordinal for s in spans]
    if not spans or any(o is None for o in ordinals):
        return None
    positions, forwards, backwards = page_by_ordinal(
        [o for o in ordinals if o is not None], tid, params.cursor, params.limit, direction
    )
    return [spans[p] for p in positions], forwards, backwards


def _fold_span(
    logs: LogStore, ref: LogRef, span: TurnSpan, new_turn_id: Callable[[], str]
) -> tuple[Turn | None, int]:
    """One turn folded from its span's bytes alone, and how many bytes were read."""
    target = ref if span.log_location == OWN_LOG else logs.ref_at(span.log_location)
    if target is None:
        return None, 0
    end = span.end_offset if span.end_offset is not None else logs.stat(target).size
    data = logs.read_range(target, span.start_offset, end)
    builder = HistoryBuilder(new_turn_id)
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            builder.feed(decode_line(raw).item)
        except DecodeError:
            continue  # a corrupt line inside a turn is skipped, as a full read skips it
    return builder.turn(span.turn_id), len(data)


def list_turns(
    logs: LogStore,
    params: TurnsListParams,
    *,
    index: IndexStore | None = None,
    metrics: TurnsMetrics | None = None,
    new_turn_id: Callable[[], str] = new_id,
) -> TurnsPage:
    """One page of a thread's turns; ``ThreadNotFoundError`` or ``InvalidRequestError``."""
    metrics = metrics if metrics is not None else TurnsMetrics()
    tid = parse_thread_id(params.thread_id)
    ref = logs.locate(tid)
    if ref is None:
        raise ThreadNotFoundError(tid)
    direction: SortDirection = params.sort_direction or "desc"
    view: TurnItemsView = params.items_view or "summary"
    found = _spans_page(logs, ref, index, params, direction)
    if found is not None:
        spans, forwards, backwards = found
        turns: list[Turn] = []
        for span in spans:
            turn, read = _fold_span(logs, ref, span, new_turn_id)
            metrics.bytes_read += read
            if turn is None:
                break
            turns.append(with_items_view(turn, view))
        else:
            metrics.span_pages += 1
            return TurnsPage(turns, forwards, backwards)
    metrics.folded_pages += 1
    whole = read_thread(logs, tid, include_turns=True, id_source=new_turn_id).turns
    page, forwards, backwards = page_by_turn_id(
        whole, [t.id for t in whole], params.cursor, params.limit, direction
    )
    return TurnsPage([with_items_view(t, view) for t in page], forwards, backwards)
