"""Small Codex homes made by our own writer, for index tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from threadlog.events.ids import Uuid7Generator
from threadlog.store.files import FileLogStore
from threadlog.testing.homes import thread_lines, write_thread

__all__ = ["BASE", "make_home", "thread_lines"]

BASE = datetime(2026, 3, 1, 12, 0, 0)


def make_home(root: Path, count: int, *, seed_ms: int = 1_772_366_400_000) -> list[Path]:
    """A home with ``count`` one-turn threads, one per second of creation time."""
    gen = Uuid7Generator(clock_ms=lambda: seed_ms)
    logs = FileLogStore(root)
    paths = []
    for n in range(count):
        created = BASE + timedelta(seconds=n)
        thread_id = gen()
        ref = write_thread(
            logs, thread_id, created, thread_lines(thread_id, created, f"thread {n}")
        )
        paths.append(Path(ref.location))
    return paths
