"""Appends through threadlog on JetStream beside raw nats-py, in one run, on one server.

* threadlog: the runtime (scripted driver, 20 messages a turn: 45 lines in 22 appends, as
  ``bench/runtime.py``) with its log on a JetStream stream, 1 thread and 1,000 threads;
* raw: nats-py on one asyncio loop publishing the same lines to the same server, each with
  its ack awaited (``js.publish``), one subject per thread, the threads concurrent.

The server is a throwaway nats-server 2.15 with ``sync_interval: always`` (what fsync
durability needs on one node). Run: ``.venv/bin/python bench/jetstream.py [turns]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.runtime import TURN_APPENDS, events_per_second
from tests.support.nats import NatsServer, fresh_stream, log_url
from threadlog.store.jetstream_log import JetStreamLogStore

LINE = (
    b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg",'
    b'"payload":{"type":"agent_message","message":"message 1"}}\n'
)


async def through_threadlog(url: str, threads: int, turns: int) -> float:
    """Events/s of ``turns`` turns on each of ``threads`` threads, after a warm-up turn."""
    store = JetStreamLogStore(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rate, _ = await events_per_second(Path(tmp), threads, turns, logs=store)
    finally:
        store.close()
    print(f"  {threads} threads: {store.chain_breaks} chained appends fell back")
    return rate


async def raw_nats(server: str, threads: int, turns: int) -> float:
    """Events/s of the same lines published by nats-py, each ack awaited."""
    import nats
    from nats.js.api import StreamConfig

    nc = await nats.connect(server)
    js = nc.jetstream()
    name = fresh_stream()
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))

    async def one(n: int) -> None:
        subject = f"{name}.t{n}"
        for _ in range(turns):
            for size in TURN_APPENDS:
                for _ in range(size):
                    await js.publish(subject, LINE)

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(threads)))
    elapsed = time.perf_counter() - start
    await nc.close()
    return threads * turns * sum(TURN_APPENDS) / elapsed


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    server = NatsServer()
    server.start()
    try:
        rows = []
        for threads, n in ((1, 20 * turns), (1000, turns)):
            raw = asyncio.run(raw_nats(server.url, threads, n))
            ours = trio.run(through_threadlog, log_url((server.url, server.monitor)), threads, n)
            rows.append((threads, ours, raw))
        print("| threads | threadlog events/s | raw nats-py events/s | ratio |")
        print("|---|---|---|---|")
        for threads, ours, raw in rows:
            print(f"| {threads} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f}x |")
    finally:
        server.remove()


if __name__ == "__main__":
    main()
