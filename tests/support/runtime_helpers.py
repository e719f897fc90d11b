"""Shared pieces for the runtime tests (the public ones live in ``threadlog.testing``)."""

from __future__ import annotations

import trio

from threadlog.events.notifications import Notification
from threadlog.testing.runtime import fold_of_log, live_equals_log, open_runtime, script, text

__all__ = ["drain", "fold_of_log", "live_equals_log", "methods", "open_runtime", "script", "text"]


def drain(channel: trio.MemoryReceiveChannel[Notification]) -> list[Notification]:
    """Every notification waiting in a subscription."""
    out = []
    while True:
        try:
            out.append(channel.receive_nowait())
        except trio.WouldBlock:
            return out


def methods(notifications: list[Notification]) -> list[str]:
    """Just the method names."""
    return [n.method for n in notifications]
