"""Public helpers for testing code built on threadlog, the way ``trio.testing`` is public.

* hypothesis strategies: every vocabulary value (``vocabulary``) and plausible, valid
  rollout sequences (``sequences``); importing them needs hypothesis;
* the scripted driver, ``open_runtime``, ``live_equals_log`` and ``fold_of_log``
  (``runtime``), so a host can test its own driver against the real runtime;
* in-memory stores (``MemoryLogStore``, ``MemoryIndex``), threads made by threadlog's own
  writer (``thread_lines``, ``write_thread``), and the contract suites every storage
  backend must pass (``threadlog.testing.contracts``; importing those needs pytest).
"""

from __future__ import annotations

from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.store.memory import MemoryIndex, MemoryLogStore
from threadlog.testing.homes import thread_lines, write_thread
from threadlog.testing.runtime import fold_of_log, live_equals_log, open_runtime, script, text
from threadlog.testing.sequences import noise, valid_rollout_items, with_noise
from threadlog.testing.vocabulary import (
    event_msgs,
    json_values,
    response_items,
    rollout_items,
    rollout_lines,
    structs_of,
    timestamps,
    unknown_lines,
)

__all__ = [
    "MemoryIndex",
    "MemoryLogStore",
    "ScriptedDriver",
    "event_msgs",
    "fold_of_log",
    "json_values",
    "live_equals_log",
    "noise",
    "open_runtime",
    "response_items",
    "rollout_items",
    "rollout_lines",
    "script",
    "structs_of",
    "text",
    "thread_lines",
    "timestamps",
    "unknown_lines",
    "valid_rollout_items",
    "with_noise",
    "write_thread",
]
