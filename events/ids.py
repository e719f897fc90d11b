"""Thread ids: strict parsing and UUIDv7 generation.

A thread id from outside becomes part of a file name, so it must be exactly the canonical
36-character UUID text and nothing else (no braces, no ``urn:``, no path separators). Ids we
make are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter seeded
randomly each millisecond so ids made in one process within one millisecond still sort in
creation order (method 1 of RFC 9562 section 6.2), then 62 random bits.

The generator takes its clock and randomness as arguments so tests can pin them; the module
default reads the system clock, which is the only clock access in ``events``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

_HEX = "[0-9a-fA-F]"
_CANONICAL = re.compile(rf"^{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}$")

_COUNTER_BITS = 12
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1


def parse_thread_id(text: object) -> str:
    """Return the canonical lower-case form of a thread id, or raise ``ValueError``."""
    if not isinstance(text, str) or _CANONICAL.fullmatch(text) is None:
        shown = repr(text)[:80]
        raise ValueError(f"invalid thread id: {shown}")
    return text.lower()


def is_thread_id(text: object) -> bool:
    """True when ``text`` is a canonical UUID string."""
    return isinstance(text, str) and _CANONICAL.fullmatch(text) is not None


def uuid7_timestamp_ms(thread_id: str) -> int:
    """Unix milliseconds embedded in a UUIDv7 id."""
    return int(parse_thread_id(thread_id).replace("-", "")[:12], 16)


class Uuid7Generator:
    """Makes UUIDv7 strings, monotonic within one generator (and so one process)."""

    def __init__(
        self,
        clock_ms: Callable[[], int] | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._random_bytes = random_bytes
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> str:
        """Return the next id."""
        with self._lock:
            now = self._clock_ms()
            if now > self._last_ms:
                self._last_ms = now
                # Seed below half the range so a burst has room to count up.
                self._counter = int.from_bytes(self._random_bytes(2), "big") & (_COUNTER_MAX >> 1)
            else:
                self._counter += 1
                if self._counter > _COUNTER_MAX:
                    # Counter exhausted: borrow the next millisecond rather than repeat.
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(self._random_bytes(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= counter << 64
        value |= 0b10 << 62
        value |= rand_b
        hex_ = f"{value:032x}"
        return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


new_id = Uuid7Generator()
"""The process-wide UUIDv7 generator (thread ids, turn ids)."""
