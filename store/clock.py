"""The wall clock, in Unix milliseconds: the one place threadlog reads the time of day.

Everything that stamps a line, a row or a lease takes a ``clock_ms`` callable defaulting to
this, so tests can pin time.
"""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    """Unix milliseconds from the system clock."""
    return time.time_ns() // 1_000_000
