"""Append throughput per durability mode, with 1 and 100 concurrent writers, beside raw
``os.write`` + ``os.fdatasync`` doing the same batching, all in one run.

Run: ``.venv/bin/python bench/append.py [SECONDS_PER_CASE]``.

Cases:
* ``x1``: one writer thread, one file.
* ``x100 files``: 100 writer threads, each with its own file - what 100 actors do. The raw
  baseline is 100 threads doing ``os.write`` + ``os.fdatasync`` on their own files.
* ``x100 one file``: 100 threads sharing one appender (group commit). The raw baseline is one
  thread writing the same lines with one fdatasync per batch of the size group commit achieved.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadlog.store.appender import RolloutAppender

LINE = (
    b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":'
    b'{"type":"agent_message","message":"' + b"x" * 180 + b'"}}\n'
)


def _threads(count: int, seconds: float, work: Callable[[int, float], int]) -> float:
    """Run ``work(slot, stop)`` in ``count`` threads; total calls per second."""
    counts = [0] * count
    stop = time.perf_counter() + seconds

    def run(slot: int) -> None:
        counts[slot] = work(slot, stop)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def appender_files(base: Path, mode: str, writers: int, seconds: float) -> float:
    """Events/s with one appender (and one thread) per file."""
    appenders = [
        RolloutAppender(base / f"{mode}-{writers}-{i}.jsonl", durability=mode)  # type: ignore[arg-type]
        for i in range(writers)
    ]

    def work(slot: int, stop: float) -> int:
        n = 0
        while time.perf_counter() < stop:
            appenders[slot].append(LINE)
            n += 1
        return n

    rate = _threads(writers, seconds, work)
    for a in appenders:
        a.close()
    return rate


def raw_files(base: Path, writers: int, seconds: float) -> float:
    """Events/s for os.write + os.fdatasync per line, one file per thread."""
    fds = [
        os.open(base / f"raw-{writers}-{i}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        for i in range(writers)
    ]

    def work(slot: int, stop: float) -> int:
        n = 0
        while time.perf_counter() < stop:
            os.write(fds[slot], LINE)
            os.fdatasync(fds[slot])
            n += 1
        return n

    rate = _threads(writers, seconds, work)
    for fd in fds:
        os.close(fd)
    return rate


def appender_shared(path: Path, writers: int, seconds: float) -> tuple[float, float]:
    """Events/s with ``writers`` threads on one fsync appender, and appends per fsync."""
    appender = RolloutAppender(path, durability="fsync")

    def work(slot: int, stop: float) -> int:
        n = 0
        while time.perf_counter() < stop:
            appender.append(LINE)
            n += 1
        return n

    rate = _threads(writers, seconds, work)
    appender.close()
    return rate, appender.appends / max(1, appender.fsyncs)


def raw_batched(path: Path, batch: int, seconds: float) -> float:
    """Events/s for one thread writing lines with one fdatasync per ``batch`` lines."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    stop = time.perf_counter() + seconds
    total = 0
    start = time.perf_counter()
    while time.perf_counter() < stop:
        for _ in range(batch):
            os.write(fd, LINE)
        os.fdatasync(fd)
        total += batch
    rate = total / (time.perf_counter() - start)
    os.close(fd)
    return rate


def main() -> None:
    """Run every case and print a table."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        base = Path(tmp)
        print(f"{'case':24} {'events/s':>10} {'raw events/s':>13} {'ratio':>6}")
        for writers in (1, 100):
            for mode in ("none", "flush", "fsync"):
                rate = appender_files(base, mode, writers, seconds)
                label = f"{mode} x{writers}" + (" files" if writers > 1 else "")
                if mode == "fsync":
                    raw = raw_files(base, writers, seconds)
                    print(f"{label:24} {rate:10,.0f} {raw:13,.0f} {rate / raw:6.2f}")
                else:
                    print(f"{label:24} {rate:10,.0f}")
        rate, batch = appender_shared(base / "shared.jsonl", 100, seconds)
        raw = raw_batched(base / "raw-shared.jsonl", max(1, round(batch)), seconds)
        label = f"fsync x100 one file (batch {batch:.1f})"
        print(f"{label:24} {rate:10,.0f} {raw:13,.0f} {rate / raw:6.2f}")


if __name__ == "__main__":
    main()
