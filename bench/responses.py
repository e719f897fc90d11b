"""The Responses driver's cost per streamed delta, in one run:

* end to end: the scripted Responses server (tests/support) streams one message of N text
  deltas over loopback HTTP; the driver reads it (httpx, our SSE framing), the runtime records
  it and publishes each delta, and a subscriber receives every ``item/agentMessage/delta``;
* parse alone: the same SSE bytes, framed (``sse.SseDecoder``) and read
  (``read_event``) in memory, the minimum any reader of them must do.

The ratio is end-to-end time per delta over parse time per delta (target: below 2x).
Run: ``.venv/bin/python bench/responses.py [DELTAS]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import responses_server as rs
from threadlog.actors.drivers.responses import ResponsesDriver, resolve
from threadlog.actors.drivers.responses.sse import SseDecoder
from threadlog.actors.drivers.responses.stream import read_event
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.ops import TextUserInput

PIECE = "word " * 4  # 20 characters a delta, a typical model token burst


def events(deltas: int) -> list[rs.Event]:
    """One message of ``deltas`` deltas, then completed."""
    return [*rs.message(PIECE * deltas, chunks=deltas), rs.completed()]


def sse_bytes(evs: list[rs.Event]) -> bytes:
    """The bytes the server sends for these events."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in evs)


def parse_alone(data: bytes) -> tuple[float, int]:
    """Seconds to frame and read every event of ``data`` (in 64 KiB reads, as from the
    socket); the number of text deltas."""
    start = time.perf_counter()
    decoder = SseDecoder()
    seen = 0
    for at in range(0, len(data), 65536):
        for event_data in decoder.feed(data[at : at + 65536]):
            event = read_event(event_data)
            seen += type(event).__name__ == "TextDelta"
    return time.perf_counter() - start, seen


async def end_to_end(deltas: int) -> tuple[float, int]:
    """Seconds from turn/start to the last delta at a subscriber; the delta notifications
    received (fewer than the deltas: one per network read)."""
    # The bytes are made before the clock starts and sent whole: the server's own cost
    # (it shares this process) stays out of the figure.
    server = rs.ResponsesServer({"bench": [rs.raw(sse_bytes(events(deltas)))]})
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            doc = {
                "model_provider": "local",
                "model_providers": {"local": {"base_url": server.base_url}},
            }
            driver = ResponsesDriver(resolve(doc))
            defaults = ThreadSettings(cwd=str(home), model="m", model_provider="local")
            async with Runtime(home, driver=driver, defaults=defaults, durability="fsync") as rt:
                thread = await rt.start_thread()
                received, text = 0, 0
                async with rt.subscribe(thread.id, buffer=deltas * 2 + 100) as channel:
                    start = time.perf_counter()
                    await rt.start_turn(thread.id, [TextUserInput("go [[S:bench]]")])
                    async for note in channel:
                        if note.method == "item/agentMessage/delta":
                            received += 1
                            text += len(note.params["delta"])
                        elif note.method == "turn/completed":
                            break
                    elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    assert text == len(PIECE) * deltas, "every character reached the subscriber"
    return elapsed, received


def main() -> None:
    """Print both figures and their ratio (best of three of each)."""
    deltas = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = sse_bytes(events(deltas))
    parse = min(parse_alone(data)[0] for _ in range(3))
    runs = [trio.run(end_to_end, deltas) for _ in range(3)]
    e2e = min(t for t, _ in runs)
    print(f"deltas: {deltas}, SSE bytes: {len(data):,}")
    print(f"parse alone:  {deltas / parse:12,.0f} deltas/s  ({parse / deltas * 1e6:.2f} us each)")
    print(f"end to end:   {deltas / e2e:12,.0f} deltas/s  ({e2e / deltas * 1e6:.2f} us each)")
    notes = min(n for _, n in runs)
    print(f"delta notifications at the subscriber: {notes} (one per network read)")
    print(f"ratio end-to-end / parse: {e2e / parse:.2f}x")


if __name__ == "__main__":
    main()
