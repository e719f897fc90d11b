"""A trio lock whose uncontended acquire does not yield.

``trio.Lock`` checkpoints on every acquire, so each ``async with`` costs a trip through the
scheduler even when nobody else holds it. An actor takes two locks per recorded event (its
emit lock and its recorder's), and at a thousand busy threads those trips were a large part
of the trio thread's time. ``QuickLock`` takes a free lock at once and waits (with
``trio.Lock``'s fairness) only when it is held. It still delivers a pending cancellation
(``checkpoint_if_cancelled`` does not yield unless cancelled): an interrupted turn must stop
at its next recorded event, as it did with ``trio.Lock``.
"""

from __future__ import annotations

from types import TracebackType

import trio


class QuickLock:
    """``async with`` exclusion with no scheduler trip when the lock is free."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = trio.Lock()

    async def __aenter__(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def locked(self) -> bool:
        """Whether some task holds it."""
        return self._lock.locked()
