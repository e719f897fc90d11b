"""Timing for the benchmarks: the best of a few rounds (noise only ever adds time)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    """The fastest of ``rounds`` timings of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
