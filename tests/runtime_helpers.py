"""Shared pieces for the runtime tests: a runtime on a temp home, fold-of-log checks."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import trio

from threadlog.actors.actor import ThreadSettings
from threadlog.actors.notifications import Notification
from threadlog.actors.runtime import Runtime
from threadlog.actors.scripted_driver import ScriptedDriver
from threadlog.events.views import Thread
from threadlog.projections.history import build_turns
from threadlog.store.reader import read_items


def text(value: str) -> list[Any]:
    """A turn's input: one text item."""
    from threadlog.events.ops import TextUserInput

    return [TextUserInput(value)]


def script(steps: list[dict[str, Any]]) -> list[Any]:
    """A turn's input that runs an inline script."""
    return text("#script\n" + msgspec.json.encode(steps).decode())


@asynccontextmanager
async def open_runtime(home: Path, **kwargs: Any) -> AsyncIterator[Runtime]:
    """A runtime with the scripted driver on ``home`` (fsync by default, like production)."""
    kwargs.setdefault("driver", ScriptedDriver())
    kwargs.setdefault("defaults", ThreadSettings(cwd=str(home)))
    async with Runtime(home, **kwargs) as runtime:
        yield runtime


def fold_of_log(path: str | None) -> list[Any]:
    """The turns a replay of the file gives (implicit ids made deterministic)."""
    assert path is not None
    counter = itertools.count()
    return build_turns(read_items(Path(path)), new_id=lambda: f"implicit-{next(counter)}")


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


def live_equals_log(thread: Thread) -> bool:
    """The live view's turns equal a fresh fold of the file."""
    return msgspec.to_builtins(thread.turns) == msgspec.to_builtins(fold_of_log(thread.path))
