"""Running threads in tests: a runtime with the scripted driver, and the replay = live check.

``live_equals_log`` is invariant 1 of the design as a function a host can call in its own
tests: the turns a thread shows live are exactly the turns a fresh fold of its log gives.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec

from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.ops import TextUserInput, UserInputItem
from threadlog.events.views import Thread, Turn
from threadlog.projections.history import build_turns
from threadlog.store.ports import LogStore
from threadlog.store.reader import read_items


@asynccontextmanager
async def open_runtime(home: Path, **kwargs: Any) -> AsyncIterator[Runtime]:
    """A runtime on ``home`` with the scripted driver (fsync by default, like production).

    Keyword arguments go to ``Runtime``; the thread defaults' cwd is the home itself.
    """
    kwargs.setdefault("driver", ScriptedDriver())
    kwargs.setdefault("defaults", ThreadSettings(cwd=str(home)))
    async with Runtime(home, **kwargs) as runtime:
        yield runtime


def text(value: str) -> list[UserInputItem]:
    """A turn's input: one text item."""
    return [TextUserInput(value)]


def script(steps: list[dict[str, Any]]) -> list[UserInputItem]:
    """A turn's input that makes the scripted driver run ``steps``."""
    return text("#script\n" + msgspec.json.encode(steps).decode())


def fold_of_log(path: str | Path | None, logs: LogStore | None = None) -> list[Turn]:
    """The turns a replay of a thread's log gives (implicit turn ids made deterministic).

    ``path`` is the thread's ``path`` (its log's location); ``logs`` the store it lives in
    (the rollout files when omitted).
    """
    assert path is not None, "the thread has no log yet"
    if logs is None:
        items = read_items(Path(path))
    else:
        ref = logs.ref_at(str(path))
        assert ref is not None, f"no log at {path}"
        items = [read.line.item for read in logs.read_lines(ref)]
    counter = itertools.count()
    return build_turns(items, new_id=lambda: f"implicit-{next(counter)}")


def live_equals_log(thread: Thread, logs: LogStore | None = None) -> bool:
    """The live view's turns equal a fresh fold of the thread's log (invariant 1)."""
    live: object = msgspec.to_builtins(thread.turns)
    return bool(live == msgspec.to_builtins(fold_of_log(thread.path, logs)))
