"""The leased, resumable backfill that indexes every rollout of a home (Codex section 5.3).

1. Take the lease (one atomic UPDATE); without it, stop: another worker is indexing, or the
   index is complete.
2. Go through every log, live and archived, in the order of their store's key (for rollout
   files the path relative to the home: the watermark), after the last checkpoint. The
   logs are streamed, never listed whole: memory does not grow with the home (L12). They
   are counted first when there is a progress callback to tell.
3. Per batch of 200 logs: extract each log's row, then upsert the rows *and* checkpoint
   the batch's last watermark in one transaction, which also renews the lease. A crash
   resumes after the last committed batch; at most the batch in flight is done twice.
4. Mark complete. Logs that cannot be read or have no ``session_meta`` are counted and
   reported, and do not stop the run.

Progress goes to an optional callback (the CLI draws a bar or logs).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Final

import msgspec

from threadlog.events.rows import IndexEntry
from threadlog.projections.index.indexer import IndexOutcome, extract_log
from threadlog.store.layout import one_walk_per_home
from threadlog.store.lazylog import get_logger
from threadlog.store.lease import BACKFILL_LEASE_SECONDS
from threadlog.store.ports import IndexStore, LogRef, LogStore, log_key

BATCH_SIZE: Final = 200
log = get_logger("threadlog.backfill")


class FileError(msgspec.Struct, frozen=True):
    """A file the backfill could not index."""

    path: str
    reason: str


class BackfillProgress(msgspec.Struct, frozen=True):
    """Where a running backfill is."""

    done: int
    total: int
    bytes: int


class BackfillStats(msgspec.Struct):
    """The outcome of one backfill run (``threadlog backfill --json`` prints it)."""

    claimed: bool
    files: int = 0
    threads: int = 0
    bad_lines: int = 0
    errors: int = 0
    seconds: float = 0.0
    bytes: int = 0
    error_files: list[FileError] = []


def pending_logs(logs: LogStore, after: str | None) -> Iterator[LogRef]:
    """Every log in watermark order, those after ``after`` only (one pass, streamed)."""
    return heapq.merge(
        logs.logs(archived=True, after=after), logs.logs(archived=False, after=after), key=log_key
    )


def pending_count(logs: LogStore, after: str | None) -> int:
    """How many logs ``pending_logs`` gives, without listing them in order."""
    return sum(logs.count_logs(archived=archived, after=after) for archived in (True, False))


def extract_batch(logs: LogStore, batch: Sequence[LogRef]) -> list[IndexOutcome]:
    """Fold each log of one batch (what a worker does: nothing here writes)."""
    return [extract_log(logs, ref) for ref in batch]


BatchExtractor = Callable[[Iterator[list[LogRef]]], Iterator[list[IndexOutcome]]]
"""Maps batches of logs to their outcomes, batch for batch and in order (a pool of worker
processes, say); the backfill's own default folds them one after another."""


def index_batch(
    logs: LogStore,
    batch: Sequence[LogRef],
    stats: BackfillStats,
    outcomes: Sequence[IndexOutcome] | None = None,
) -> list[IndexEntry]:
    """The rows of one batch (extracted here unless ``outcomes`` are given); errors go into
    ``stats``."""
    records: list[IndexEntry] = []
    for ref, outcome in zip(
        batch, extract_batch(logs, batch) if outcomes is None else outcomes, strict=True
    ):
        stats.files += 1
        if outcome.scan is not None:
            stats.bad_lines += outcome.scan.bad_lines
            stats.bytes += outcome.scan.end_offset
        if outcome.entry is None:
            stats.errors += 1
            stats.error_files.append(FileError(ref.location, outcome.error or "unknown"))
            log.warning("backfill_file_skipped", path=ref.location, reason=outcome.error)
            continue
        records.append(outcome.entry)
    # A thread renamed by Codex has its name in the name index only: the row carries it too,
    # so a search by name is answered by the index.
    names = logs.names_of([r.row.id for r in records if r.row.name is None]) if records else {}
    return [
        IndexEntry(
            msgspec.structs.replace(r.row, name=names[r.row.id]),
            r.dynamic_tools,
            r.turns,
            r.turns_from,
        )
        if r.row.id in names
        else r
        for r in records
    ]


def run_backfill(
    logs: LogStore,
    index: IndexStore,
    *,
    lease_seconds: int = BACKFILL_LEASE_SECONDS,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[BackfillProgress], None] | None = None,
    claim: bool = True,
    should_stop: Callable[[], bool] | None = None,
    extract: BatchExtractor | None = None,
) -> BackfillStats:
    """Run (or resume) the backfill under the lease; ``claim=False`` when already held.

    ``extract`` folds the batches elsewhere (the CLI's worker processes); the rows are
    still committed here, in watermark order.

    ``should_stop`` is asked between batches: when it says stop, the lease is given back
    (status ``pending``, watermark kept) so the next run resumes at once. One walk of the
    home serves every whole-home lookup of the pass (it reads a snapshot anyway).
    """
    with one_walk_per_home():
        return _backfill_pass(
            logs, index, lease_seconds, batch_size, progress, claim, should_stop, extract
        )


def _backfill_pass(
    logs: LogStore,
    index: IndexStore,
    lease_seconds: int,
    batch_size: int,
    progress: Callable[[BackfillProgress], None] | None,
    claim: bool,
    should_stop: Callable[[], bool] | None,
    extract: BatchExtractor | None,
) -> BackfillStats:
    started = time.perf_counter()
    if claim and not index.claim_backfill(lease_seconds):
        return BackfillStats(claimed=False, seconds=time.perf_counter() - started)
    stats = BackfillStats(claimed=True)
    state = index.backfill_state()
    last_mark = state.last_watermark
    refs = pending_logs(logs, state.last_watermark)
    batches = iter(lambda: list(itertools.islice(refs, batch_size)), [])
    # An extractor pulls the batches as it needs them (a pool keeps a few in flight, so
    # what it holds does not grow with the home) and gives their outcomes back in order;
    # ``taken`` holds the batches it pulled whose rows are not committed yet.
    taken: list[list[LogRef]] = []

    def feed() -> Iterator[list[LogRef]]:
        for batch in batches:
            taken.append(batch)
            yield batch

    extracted = extract(feed()) if extract is not None else None
    # After the extractor is under way (a pool starts folding at once): the count, a
    # walk of the home, and this first log line of a command, where it imports
    # structlog, cost nothing while the workers fold. The count is for the progress
    # shown; without anyone to show it to (serve's own backfill, an embedding host) it
    # would be a walk for nothing.
    total = pending_count(logs, state.last_watermark) if progress else 0
    log.info("backfill_started", files=total or None, resume_after=state.last_watermark)
    done = 0
    while True:
        if should_stop is not None and should_stop():
            index.release_backfill()
            stats.seconds = time.perf_counter() - started
            log.info("backfill_paused", files=stats.files, after=last_mark)
            return stats
        if extracted is None:
            batch = next(batches, None)
            outcomes = None
        else:
            outcomes = next(extracted, None)
            batch = taken.pop(0) if outcomes is not None else None
        if batch is None:
            break
        records = index_batch(logs, batch, stats, outcomes)
        last_mark = batch[-1].key
        # One transaction: the rows and the checkpoint land together or not at all.
        index.commit_batch(records, last_mark)
        stats.threads += len(records)
        done += len(batch)
        if progress is not None:
            # Logs that came after the count make ``done`` pass it: the total follows.
            total = max(total, done)
            progress(BackfillProgress(done=done, total=total, bytes=stats.bytes))
    index.complete_backfill(last_mark)
    stats.seconds = time.perf_counter() - started
    log.info(
        "backfill_complete",
        files=stats.files,
        threads=stats.threads,
        errors=stats.errors,
        bad_lines=stats.bad_lines,
        seconds=round(stats.seconds, 3),
    )
    return stats
