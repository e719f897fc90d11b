"""Worker processes that fold a backfill's logs while the command's own process commits.

The fold of a log (read it, find its kinds, decode the lines the index uses) is pure work
over the log's bytes and most of a backfill's time; the commits must stay in one process,
in watermark order. So ``backfill`` and ``replay`` of a home's rollout files fork one
worker per core: each gets a batch of ``LogRef``s (msgpack), folds it against its own
``FileLogStore`` of the same home, and sends the outcomes back (msgpack). The command
keeps at most ``AHEAD`` batches per worker in flight, so memory stays flat in the number
of files, and takes the outcomes in the order it sent the batches.

Workers are forked (a fresh interpreter would pay the imports again, a tenth of a small
replay), before the executor starts its own thread: ``ProcessPoolExecutor`` launches every
worker up front when its start method is fork. A worker killed midway breaks the pool,
which the command reports as an error; the index is left at its last committed batch, as
after any crash. A worker dies with the command's process, even one killed with
SIGKILL: a pool worker waits on a pipe whose write end it holds itself, so it would never
read an end of file and would be left behind. Stores other than files (JetStream: a client
with its own loop thread) are folded in the command's own process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

import msgspec

from threadlog.projections.index.backfill import BatchExtractor, extract_batch
from threadlog.projections.index.indexer import IndexOutcome
from threadlog.store.files import FileLogStore
from threadlog.store.layout import one_walk_per_home
from threadlog.store.ports import LogRef, LogStore

AHEAD: Final = 2
"""Batches in flight per worker: one being folded, one waiting, so none sits idle."""

_encode = msgspec.msgpack.Encoder().encode
_decode_refs = msgspec.msgpack.Decoder(list[LogRef]).decode
_decode_outcomes = msgspec.msgpack.Decoder(list[IndexOutcome]).decode


class WorkerLostError(RuntimeError):
    """A worker process died (killed, out of memory); the index is at its last commit."""


# The worker's own view of the home, made by its initializer.
_worker_logs: FileLogStore | None = None
_worker_walks = ExitStack()


_PR_SET_PDEATHSIG: Final = 1


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` (the command's process) ends, however it ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:  # no parent-death signal here: watch for being handed to another parent

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # it ended before the signal was asked for
        os._exit(1)


def _start_worker(home: str, parent: int) -> None:
    global _worker_logs
    _die_with(parent)
    _worker_logs = FileLogStore(Path(home))
    # One walk of the home for the worker's whole life, as the backfill has in its own
    # process: fork parents that are not in the home are looked up in it.
    _worker_walks.enter_context(one_walk_per_home())


def _extract(payload: bytes) -> bytes:
    assert _worker_logs is not None, "the initializer sets it"
    return _encode(extract_batch(_worker_logs, _decode_refs(payload)))


def worker_count() -> int:
    """Workers a backfill forks: one per core this process may run on, none on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if cores and cores > 1 else 0


@contextmanager
def extraction_pool(logs: LogStore, workers: int | None = None) -> Iterator[BatchExtractor | None]:
    """A ``BatchExtractor`` over forked workers for a home's files, or None where the
    command's own process should fold (one core, a store that is not files)."""
    count = worker_count() if workers is None else workers
    if count < 1 or not isinstance(logs, FileLogStore):
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(str(logs.home), os.getpid()),
    )
    try:

        def taken(future: Future[bytes]) -> list[IndexOutcome]:
            try:
                return _decode_outcomes(future.result())
            except BrokenProcessPool as exc:
                raise WorkerLostError(
                    "a worker process folding the logs died; the index stays at its last"
                    " committed batch: run the command again"
                ) from exc

        def extract(batches: Iterator[list[LogRef]]) -> Iterator[list[IndexOutcome]]:
            pending: deque[Future[bytes]] = deque()
            for batch in batches:
                pending.append(pool.submit(_extract, _encode(batch)))
                if len(pending) >= AHEAD * count:
                    yield taken(pending.popleft())
            while pending:
                yield taken(pending.popleft())

        yield extract
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
