"""One nats-py connection, on an asyncio loop in a thread of its own, callable from any other.

nats-py is asyncio-only and threadlog runs on trio. Measured on the development machine,
one asyncio loop in a dedicated thread cost ~1.7x asyncio's own ack latency, trio-asyncio
2.2x, a worker thread blocked per publish 2.4x; the log port is synchronous (its callers
are the append pool's threads and trio worker threads), so each call here is a
``run_coroutine_threadsafe`` whose future the calling thread waits on, and many threads
keep many requests in flight on the one connection.

A coroutine, once handed to the loop, runs to its end whatever happens to its caller: an
append already sent is never taken back by a cancellation on the trio side (invariant 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.nats")

T = TypeVar("T")

CONNECT_TIMEOUT = 5.0


def _report(done: Callable[[Any, BaseException | None], None], task: asyncio.Task[Any]) -> None:
    if task.cancelled():  # the link is closing under it
        done(None, ConnectionError("the NATS link was closed before the request ended"))
        return
    error = task.exception()
    done(None if error is not None else task.result(), error)


class NatsUnavailableError(ConnectionError):
    """No NATS server answered at the given addresses."""


class NatsLink:
    """A connection to NATS and the loop it lives on."""

    def __init__(self, servers: tuple[str, ...], *, name: str = "threadlog") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="threadlog-nats", daemon=True
        )
        self._thread.start()
        self.servers = servers
        self.last_error = ""  # what nats-py last reported (it retries quietly meanwhile)
        self._incoming: deque[tuple[Coroutine[Any, Any, Any], Callable[..., None]]] = deque()
        self._wake_pending = False
        try:
            self.nc: Client = self.call(self._connect(servers, name))
        except Exception:
            self._stop_loop()
            raise

    async def _connect(self, servers: tuple[str, ...], name: str) -> Client:
        try:
            # Reconnects never give up (a restarted server is waited for), so the first
            # connect, which nats-py would retry as long, has a deadline of its own.
            return await asyncio.wait_for(self._dial(servers, name), CONNECT_TIMEOUT)
        except Exception as exc:  # nats-py raises its own NoServersError, timeouts, OSError
            where = ", ".join(servers)
            reason = self.last_error or str(exc) or type(exc).__name__
            raise NatsUnavailableError(f"cannot reach NATS at {where}: {reason}") from exc

    async def _dial(self, servers: tuple[str, ...], name: str) -> Client:
        return await nats.connect(
            list(servers),
            name=name,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,  # a restarted server is waited for, not given up on
            reconnect_time_wait=0.25,
            max_outstanding_pings=3,
            ping_interval=5,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )

    async def _on_error(self, exc: Exception) -> None:
        # nats-py's default prints a traceback per failed attempt; one line is enough
        reason = str(exc) or type(exc).__name__
        if reason != self.last_error:
            log.warning("nats_error", error=reason)
        self.last_error = reason

    async def _on_disconnected(self) -> None:
        log.warning("nats_disconnected", servers=list(self.servers))

    async def _on_reconnected(self) -> None:
        self.last_error = ""
        log.info("nats_reconnected", server=str(self.nc.connected_url))

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("NatsLink.call from its own loop would wait for ever")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(
        self,
        coro: Coroutine[Any, Any, T],
        done: Callable[[T | None, BaseException | None], None],
    ) -> None:
        """Run ``coro`` on the loop without waiting; ``done`` hears its result or error (on
        the loop's thread). Submissions made while the loop has not woken yet share one
        wake-up (a write to its self-pipe costs more than the rest of a submit)."""
        self._incoming.append((coro, done))
        if not self._wake_pending:
            self._wake_pending = True
            self.loop.call_soon_threadsafe(self._start_incoming)

    def _start_incoming(self) -> None:
        self._wake_pending = False  # first: a submit from here on wakes the loop again
        incoming = self._incoming
        while incoming:
            coro, done = incoming.popleft()
            task = self.loop.create_task(coro)
            task.add_done_callback(functools.partial(_report, done))

    def close(self) -> None:
        """Drain the connection and stop the loop; idempotent."""
        if not self.loop.is_running():
            return
        with contextlib.suppress(Exception):  # a server already gone: nothing to save
            self.call(self._close(), timeout=CONNECT_TIMEOUT)
        self._stop_loop()

    async def _close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.close()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=CONNECT_TIMEOUT)
        if not self.loop.is_running():
            self.loop.close()
