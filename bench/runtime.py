"""The runtime under load, in one run:

* events/s through the runtime (driver -> actor -> policy -> fsync'd log -> fold ->
  notifications) with 1 and with 1,000 concurrent threads in ``fsync`` mode, beside the raw
  appender of the store writing the same number of lines in the same pattern;
* memory per loaded idle actor of a short thread (tracemalloc, 1,000 actors);
* time to reload a passivated thread of 10,000 events.

Run: ``.venv/bin/python bench/runtime.py``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadlog.actors.drivers.scripted import Say, ScriptedDriver
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.ops import TextUserInput
from threadlog.store.appender import RolloutAppender

SAYS = 20  # messages per turn; each is 2 events (agent_message + response item)
# How a turn's 45 lines reach the log: the turn's start (task_started, the user's message as
# response item and event, turn_context) in one append, each message's two lines in one,
# task_complete alone. The raw appender replays exactly this.
TURN_APPENDS = (4, *([2] * SAYS), 1)
TURNS_ALONE = 20  # the 1-thread case runs this many turns, so its figure is stable


def driver() -> ScriptedDriver:
    """A driver whose every turn says SAYS short messages."""
    return ScriptedDriver(default=[Say(text=f"message {n}") for n in range(SAYS)])


async def events_per_second(
    home: Path, threads: int, turns: int, **options: Any
) -> tuple[float, int]:
    """``turns`` turns on each of ``threads`` threads concurrently, after a warm-up turn each
    (materialization, with its git probe, is not what is measured); events/s and events.
    ``options`` go to the ``Runtime`` (``logs=`` another log store)."""
    settings = ThreadSettings(cwd=str(home))
    async with Runtime(home, driver=driver(), defaults=settings, **options) as rt:
        ids = [(await rt.start_thread()).id for _ in range(threads)]
        for tid in ids:
            await rt.start_turn(tid, [TextUserInput("warm up")])
        for tid in ids:
            await rt.wait_turn(tid)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for tid in ids:

                async def one(tid: str = tid) -> None:
                    for _ in range(turns):
                        await rt.start_turn(tid, [TextUserInput("go")])
                        await rt.wait_turn(tid)

                nursery.start_soon(one)
        elapsed = time.perf_counter() - start
    events = threads * turns * sum(TURN_APPENDS)
    return events / elapsed, events


def raw_appender(home: Path, threads: int, turns: int) -> float:
    """Events/s for the store's appender alone, appending the runtime's lines in the
    runtime's appends (``TURN_APPENDS``), fsync'd, from 40 OS threads."""
    import threading

    line = (
        b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",'
        b'"payload":{"type":"agent_message","message":"message 1"}}\n'
    )
    appenders = [
        RolloutAppender(home / f"raw-{n}.jsonl", durability="fsync") for n in range(threads)
    ]
    workers = min(threads, 40)  # what trio's default thread limiter allows at once

    def work(chunk: list[RolloutAppender]) -> None:
        for appender in chunk:
            for _ in range(turns):
                for size in TURN_APPENDS:
                    appender.append(line * size)

    chunks = [appenders[i::workers] for i in range(workers)]
    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    for a in appenders:
        a.close()
    return threads * turns * sum(TURN_APPENDS) / elapsed


async def memory_per_idle_actor(home: Path, count: int) -> float:
    """Bytes per loaded, idle actor of a short thread (one turn, one reply; tracemalloc)."""
    short = ScriptedDriver(default=[Say(text="short reply")])
    settings = ThreadSettings(cwd=str(home))
    async with Runtime(home, driver=short, defaults=settings, index=False) as rt:
        ids = [(await rt.start_thread()).id for _ in range(count)]
        for tid in ids:
            await rt.start_turn(tid, [TextUserInput("hi")])
            await rt.wait_turn(tid)
        for tid in ids:
            await rt.unload_thread(tid)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for tid in ids:
            await rt.resume_thread(tid)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / count


async def reload_time(home: Path) -> float:
    """Seconds to reload a passivated thread of ~10,000 events."""
    big = ScriptedDriver(default=[Say(text=f"message {n}") for n in range(500)])
    async with Runtime(
        home, driver=big, defaults=ThreadSettings(cwd=str(home)), durability="flush"
    ) as rt:
        tid = (await rt.start_thread()).id
        for _ in range(10):
            await rt.start_turn(tid, [TextUserInput("go")])
            await rt.wait_turn(tid)
        await rt.unload_thread(tid)
        start = time.perf_counter()
        thread = await rt.resume_thread(tid)
        elapsed = time.perf_counter() - start
        assert len(thread.turns) == 10
        return elapsed


async def main() -> None:
    """Run every measurement."""
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        base = Path(tmp)
        for threads in (1, 1000):
            turns = TURNS_ALONE if threads == 1 else 1
            rate, _ = await events_per_second(base / f"rt-{threads}", threads, turns)
            raw = raw_appender(base / f"raw-{threads}", threads, turns)
            print(
                f"{threads:5d} threads: runtime {rate:10,.0f} events/s   raw appender "
                f"{raw:10,.0f} events/s   ratio {rate / raw:5.2f}"
            )
        per_actor = await memory_per_idle_actor(base / "mem", 1000)
        print(f"memory per loaded idle actor: {per_actor / 1024:6.1f} KiB (target < 20 KB)")
        seconds = await reload_time(base / "reload")
        print(f"reload of a passivated 10,000-event thread: {seconds * 1000:7.1f} ms")


if __name__ == "__main__":
    trio.run(main)
