"""Worker processes that fold a backfill's logs while the command's own process commits.

The fold of a log (read it, find its kinds, decode the lines the index uses) is pure work
over the log's bytes and most of a backfill's time; the commits must stay in one process,
in watermark order. So ``backfill`` and ``replay`` of a home's rollout files fork one
worker per core. Each batch of the backfill is cut into parts of ``PART`` logs; a part
goes to the least busy worker as msgpack ``LogRef``s, is folded there against the
worker's own ``FileLogStore`` of the same home, and comes back as msgpack outcomes. At most
``AHEAD`` parts per worker are in flight, so memory stays flat in the number of files, and
the batches are handed back in the order they came.

No threads: the command's own thread writes to and reads from one pipe per worker. (A
``ProcessPoolExecutor`` moves every task and result through two threads of its own, and
each hand-off waited for the GIL behind the commits: the workers sat idle a fifth of the
time.) Workers are forked, sparing a fresh interpreter's imports.

A worker that dies (killed, out of memory) is a ``WorkerLostError``; the index stays at
its last committed batch, as after any crash. A worker dies with the command's process,
even one killed with SIGKILL (the parent-death signal), so none is left behind. Stores
other than files (JetStream: a client with its own loop thread) are folded in the
command's own process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Final

import msgspec

from threadlog.projections.index.backfill import BatchExtractor, extract_batch
from threadlog.projections.index.indexer import IndexOutcome
from threadlog.store.files import FileLogStore
from threadlog.store.layout import one_walk_per_home
from threadlog.store.ports import LogRef, LogStore

PART: Final = 50
"""Logs per task: small enough that the last tasks of a run end close together."""
AHEAD: Final = 2
"""Parts in flight per worker: one being folded, one waiting, so none sits idle."""

_encode = msgspec.msgpack.Encoder().encode
_decode_refs = msgspec.msgpack.Decoder(list[LogRef]).decode
_decode_outcomes = msgspec.msgpack.Decoder(list[IndexOutcome]).decode
_OK: Final = b"o"
_FAILED: Final = b"x"
_PR_SET_PDEATHSIG: Final = 1
_DIED: Final = (
    "a worker process folding the logs died; the index stays at its last committed batch:"
    " run the command again"
)


class WorkerLostError(RuntimeError):
    """A worker process died or failed; the index is at its last commit."""


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


def _serve(conn: Connection, home: str, parent: int, inherited: list[Connection]) -> None:
    """A worker's life: fold each part it is sent until its pipe closes."""
    _die_with(parent)
    # Ctrl-C reaches the whole foreground group: the command handles it and closes the
    # pipes, which ends the workers; each would otherwise die printing a trace of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the parent's ends of every pipe: they must close when the parent closes (or dies)
    for other in inherited:
        other.close()
    logs = FileLogStore(Path(home))
    # One walk of the home for the worker's whole life, as the backfill has in its own
    # process: fork parents that are not in the home are looked up in it.
    with one_walk_per_home():
        while True:
            try:
                payload = conn.recv_bytes()
            except (EOFError, OSError):  # closed, or reset with our answer unread: done
                return
            try:
                answer = _OK + _encode(extract_batch(logs, _decode_refs(payload)))
            except Exception:  # a bug in a fold: the command reports it, with its trace
                answer = _FAILED + traceback.format_exc().encode()
            try:
                conn.send_bytes(answer)
            except OSError:  # the command stopped early (a paused backfill) and closed
                return


def worker_count() -> int:
    """Workers a backfill forks: one per core this process may run on, none on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if cores and cores > 1 else 0


class _Pool:
    """Forked workers, each behind one pipe, and the parts in flight on each."""

    def __init__(self, home: Path, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.conns: list[Connection] = []
        self.workers: list[multiprocessing.process.BaseProcess] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=_serve,
                args=(theirs, str(home), os.getpid(), [*self.conns, ours]),
                daemon=True,
            )
            worker.start()
            theirs.close()
            self.conns.append(ours)
            self.workers.append(worker)
        # per worker: the (batch number, part number) of each part sent, oldest first
        self.sent: list[deque[tuple[int, int]]] = [deque() for _ in range(count)]

    def send(self, part: list[LogRef], tag: tuple[int, int]) -> None:
        """Give ``part`` to the worker with the fewest parts in flight."""
        worker = min(range(len(self.conns)), key=lambda n: len(self.sent[n]))
        try:
            self.conns[worker].send_bytes(_encode(part))
        except OSError as exc:  # its end closed: it died
            raise WorkerLostError(_DIED) from exc
        self.sent[worker].append(tag)

    def in_flight(self) -> int:
        """Parts sent whose outcomes have not come back."""
        return sum(len(tags) for tags in self.sent)

    def receive(self) -> Iterator[tuple[tuple[int, int], list[IndexOutcome]]]:
        """The outcomes of the parts finished now (waits for at least one)."""
        busy = [self.conns[n] for n in range(len(self.conns)) if self.sent[n]]
        for conn in wait(busy):
            assert isinstance(conn, Connection)
            worker = self.conns.index(conn)
            try:
                answer = conn.recv_bytes()
            except (EOFError, OSError) as exc:
                raise WorkerLostError(_DIED) from exc
            if answer[:1] != _OK:
                raise WorkerLostError(
                    "a worker process failed folding the logs:\n" + answer[1:].decode()
                )
            yield self.sent[worker].popleft(), _decode_outcomes(answer[1:])

    def close(self) -> None:
        """End the workers: their pipes close, and each returns."""
        for conn in self.conns:
            conn.close()
        for worker in self.workers:
            worker.join(timeout=5)
            if worker.is_alive():  # stuck: it would die with us anyway
                worker.kill()
                worker.join()

    def extract(self, batches: Iterator[list[LogRef]]) -> Iterator[list[IndexOutcome]]:
        """Outcomes batch by batch, in the batches' order (a ``BatchExtractor``).

        The first parts go out now, not at the first ``next``: the workers fold while the
        command does what it does before it asks (its first log line imports structlog,
        a tenth of a second)."""
        run = _Run(self, batches)
        run.fill()
        return run.outcomes()


class _Run:
    """One ``extract``: the batches' parts sent, and the outcomes back in the batches' order."""

    def __init__(self, pool: _Pool, batches: Iterator[list[LogRef]]) -> None:
        self.pool = pool
        self.batches = enumerate(batches)
        self.limit = AHEAD * len(pool.conns)
        # batch number -> each part's outcomes, None until it is back
        self.done: dict[int, list[list[IndexOutcome] | None]] = {}
        self.waiting: deque[tuple[list[LogRef], tuple[int, int]]] = deque()  # parts unsent
        self.next_out = 0

    def fill(self) -> None:
        """Send parts until the workers have ``AHEAD`` each or the batches run out."""
        while self.pool.in_flight() < self.limit:
            if not self.waiting:
                number, batch = next(self.batches, (-1, []))
                if number < 0:
                    return
                parts = [batch[i : i + PART] for i in range(0, len(batch), PART)]
                self.done[number] = [None] * len(parts)
                self.waiting.extend((part, (number, n)) for n, part in enumerate(parts))
                continue
            part, tag = self.waiting.popleft()
            self.pool.send(part, tag)

    def outcomes(self) -> Iterator[list[IndexOutcome]]:
        """Each batch's outcomes once all its parts are back, keeping the workers busy."""
        while self.next_out in self.done:
            parts = self.done[self.next_out]
            while None in parts:
                for (b, p), outcomes in self.pool.receive():
                    self.done[b][p] = outcomes
                self.fill()
            del self.done[self.next_out]
            self.next_out += 1
            yield [outcome for part in parts if part is not None for outcome in part]
            self.fill()  # batches pulled only now, after the caller took this one


@contextmanager
def extraction_pool(logs: LogStore, workers: int | None = None) -> Iterator[BatchExtractor | None]:
    """A ``BatchExtractor`` over forked workers for a home's files, or None where the
    command's own process should fold (one core, a store that is not files)."""
    count = worker_count() if workers is None else workers
    if count < 1 or not isinstance(logs, FileLogStore):
        yield None
        return
    pool = _Pool(logs.home, count)
    try:
        yield pool.extract
    finally:
        pool.close()
