"""Every actor's appends go to one pool of I/O threads, and come back in batches.

One ``trio.to_thread.run_sync`` per append costs the trio thread more than the append
costs the disk once a thousand threads write at once: the trio thread, not the disk, was
the bottleneck. So a runtime's recorders hand their appends to the batcher. It puts each
one on a pool of I/O threads (a queue put; no trio-thread hop), where the writer appends
and fsyncs it as before (group commit per file still applies), and the pool reports
completions back to trio together: the first append to finish schedules one callback on
the trio thread, and that callback wakes every actor whose append has finished by then.
There is no barrier between batches, so the disk never waits for trio, nor trio for the
slowest append of a batch.

Invariant 2 holds unchanged: an actor is woken only after its own append returned, which
in ``fsync`` mode is after its bytes are on disk. One writer's appends run one at a time,
in the order they were made (a recorder makes one at a time anyway). An append cannot be
cancelled once made (its bytes may already be on disk): the wait for it is uninterruptible
by construction, which costs less than a shielded cancel scope per append.

A writer that can ``submit`` (``store.ports.SubmittingLogWriter``: JetStream's, whose acks
arrive on the NATS client's own event loop) skips the pool: its append is started from the
trio thread and its completion reported from that loop the same way, so no thread sits
blocked on a network round trip.

The pool is plain threads on a ``queue.SimpleQueue``: a ``ThreadPoolExecutor`` future
builds a condition variable per submit, which at this rate was most of the hand-off.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import trio

from threadlog.events.rows import LogPosition
from threadlog.store.ports import LogWriter

POOL_SIZE = 40  # appends on the disk at once (fsync releases the GIL)


class _Append:
    __slots__ = ("error", "expected", "lines", "result", "task", "writer")

    def __init__(
        self, writer: LogWriter, lines: Sequence[bytes], expected: LogPosition | None
    ) -> None:
        self.writer = writer
        self.lines = lines
        self.expected = expected
        self.task: Any = None  # the trio task waiting for it
        self.result: LogPosition | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.writer.append(self.lines, expected=self.expected)
        except BaseException as exc:  # handed back to the waiting actor
            self.error = exc


class AppendBatcher:
    """Appends from every actor of a runtime, on a shared pool, completions batched."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self._pool_size = pool_size
        self._jobs: queue.SimpleQueue[_Append | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._token: trio.lowlevel.TrioToken | None = None
        self._finished: deque[_Append] = deque()  # filled by I/O threads, emptied by trio
        self._wake_pending = False
        self._queued: dict[int, deque[_Append]] = {}  # per writer: behind its running append
        self._running = 0
        self._idle: trio.Event | None = None
        self.wakeups = 0  # callbacks that woke actors (appends / wakeups = batch size)
        self.appends = 0

    def start(self) -> None:
        """Begin batching (from the trio thread that will await the appends)."""
        self._token = trio.lowlevel.current_trio_token()
        self._threads = [
            threading.Thread(target=self._serve, name=f"threadlog-append-{n}", daemon=True)
            for n in range(self._pool_size)
        ]
        for thread in self._threads:
            thread.start()
        self._started = True

    async def aclose(self) -> None:
        """Wait for every append in flight, then stop (later appends cross alone)."""
        if self._running:
            self._idle = trio.Event()
            await self._idle.wait()
        if self._started:
            self._started = False
            for _ in self._threads:
                self._jobs.put(None)
            self._threads = []

    async def append(
        self, writer: LogWriter, lines: Sequence[bytes], expected: LogPosition | None = None
    ) -> LogPosition:
        """Append on the pool; returns the writer's new position (durable as its mode says).

        Callers shield it: an append in flight cannot be taken back."""
        request = _Append(writer, lines, expected)
        if not self._started:  # not started, or closed: cross alone
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(request.run)
        else:
            queued = self._queued.get(id(writer))
            if queued is None:
                self._queued[id(writer)] = deque()
                self._submit(request)
            else:
                queued.append(request)
            request.task = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(_uncancellable)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _submit(self, request: _Append) -> None:
        self._running += 1
        submit = getattr(request.writer, "submit", None)  # a SubmittingLogWriter
        if submit is None:
            self._jobs.put(request)
            return

        def done(result: LogPosition | None, error: BaseException | None) -> None:
            request.result, request.error = result, error
            self._finished_one(request)

        submit(request.lines, request.expected, done)

    def _serve(self) -> None:
        """An I/O thread: append, then make sure trio hears of it soon."""
        jobs = self._jobs
        while (request := jobs.get()) is not None:
            request.run()
            self._finished_one(request)

    def _finished_one(self, request: _Append) -> None:
        """From the thread the append finished on: trio wakes its actor soon."""
        self._finished.append(request)
        if not self._wake_pending:
            self._wake_pending = True
            assert self._token is not None
            self._token.run_sync_soon(self._wake)

    def _wake(self) -> None:
        """On the trio thread: wake every actor whose append has finished."""
        self._wake_pending = False  # first: an append finishing from here on calls again
        self.wakeups += 1
        finished = self._finished
        while finished:
            request = finished.popleft()
            self._running -= 1
            self.appends += 1
            key = id(request.writer)
            queued = self._queued[key]
            if queued:
                self._submit(queued.popleft())
            else:
                del self._queued[key]
            trio.lowlevel.reschedule(request.task)
        if self._running == 0 and self._idle is not None:
            self._idle.set()


def _uncancellable(_: Any) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED
