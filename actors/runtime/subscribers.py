"""The host's notification subscribers: fan-out with a bounded buffer each.

Publishing never waits: a subscriber that stops reading until its buffer is full is cut off
(its channel closed, a warning logged) rather than stalling every thread's actor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from threadlog.events import notifications as notes
from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.subscribers")
SUBSCRIBER_BUFFER = 10_000


class Subscribers:
    """Who listens to which thread's notifications (None: every thread)."""

    def __init__(self) -> None:
        self._entries: list[tuple[str | None, trio.MemorySendChannel[notes.Notification]]] = []

    def publish(self, notification: notes.Notification) -> None:
        """Deliver to every matching subscriber; one that stops reading is cut off."""
        thread_id = notification.thread_id
        for wanted, channel in list(self._entries):
            if wanted is not None and wanted != thread_id:
                continue
            try:
                channel.send_nowait(notification)
            except trio.WouldBlock:
                log.warning("subscriber_overflow_disconnected", buffer=SUBSCRIBER_BUFFER)
                channel.close()
                self._entries.remove((wanted, channel))
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self._entries.remove((wanted, channel))

    @asynccontextmanager
    async def subscribe(
        self, thread_id: str | None, buffer: int = SUBSCRIBER_BUFFER
    ) -> AsyncIterator[trio.MemoryReceiveChannel[notes.Notification]]:
        """Notifications about one (checked) thread id or all; closed when the block ends."""
        send, receive = trio.open_memory_channel[notes.Notification](buffer)
        entry = (thread_id, send)
        self._entries.append(entry)
        try:
            yield receive
        finally:
            if entry in self._entries:
                self._entries.remove(entry)
            send.close()
