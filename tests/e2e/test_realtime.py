"""Realtime conversations: one session per thread, bounded queues, lifecycle, replacement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from tests.support.rpc_client import RpcClient, start_server
from tests.support.runtime_helpers import drain, open_runtime, script
from threadlog.actors.realtime.session import AudioFrame, LoopbackTransport
from threadlog.events.errors import ThreadError
from threadlog.events.response_items import Message, message_text
from threadlog.store.reader import read_items

FRAME = AudioFrame(data="AAAA", sample_rate=24000, num_channels=1)


def _seen(notes: trio.MemoryReceiveChannel[Any]) -> list[tuple[str, Any]]:
    return [(n.method, msgspec.to_builtins(n.params)) for n in drain(notes)]


async def _settle() -> None:
    # Let the session's reader and writers run (they are real trio tasks).
    for _ in range(20):
        await trio.sleep(0.01)


async def test_start_text_audio_stop_lifecycle(tmp_path: Path) -> None:
    transport = LoopbackTransport()
    async with open_runtime(tmp_path, realtime_transport=transport) as rt:
        thread = await rt.start_thread()
        async with rt.subscribe(thread.id) as notes:
            session_id = await rt.realtime.start(thread.id, prompt="be brief")
            await rt.realtime.append_text(thread.id, "hello")
            assert await rt.realtime.append_audio(thread.id, FRAME)
            await _settle()
            await rt.realtime.stop(thread.id)
            seen = _seen(notes)
        with pytest.raises(ThreadError, match="not running"):
            await rt.realtime.append_text(thread.id, "late")
        with pytest.raises(ThreadError, match="not running"):
            await rt.realtime.stop(thread.id)
    methods = [m for m, _ in seen]
    assert methods[0] == "thread/realtime/started" and methods[-1] == "thread/realtime/closed"
    assert seen[0][1] == {"threadId": thread.id, "sessionId": session_id}
    assert seen[-1][1] == {"threadId": thread.id, "reason": "requested"}
    item = next(p for m, p in seen if m == "thread/realtime/itemAdded")
    assert item["item"]["content"][0]["text"] == "echo: hello"
    audio = next(p for m, p in seen if m == "thread/realtime/outputAudio/delta")
    assert audio["audio"] == {
        "data": "AAAA",
        "sampleRate": 24000,
        "numChannels": 1,
        "samplesPerChannel": None,
    }
    assert transport.connections[0].closed


async def test_a_transport_that_closes_ends_the_session_once(tmp_path: Path) -> None:
    transport = LoopbackTransport()
    async with open_runtime(tmp_path, realtime_transport=transport) as rt:
        thread = await rt.start_thread()
        async with rt.subscribe(thread.id) as notes:
            await rt.realtime.start(thread.id)
            transport.connections[0].hang_up()
            await _settle()
            seen = _seen(notes)
        with pytest.raises(ThreadError, match="not running"):
            await rt.realtime.append_audio(thread.id, FRAME)
    closes = [p for m, p in seen if m == "thread/realtime/closed"]
    assert closes == [{"threadId": thread.id, "reason": "transport_closed"}]


async def test_replacing_a_session_is_silent_and_noted_for_the_model(tmp_path: Path) -> None:
    transport = LoopbackTransport()
    async with open_runtime(tmp_path, realtime_transport=transport) as rt:
        thread = await rt.start_thread()
        async with rt.subscribe(thread.id) as notes:
            first = await rt.realtime.start(thread.id)
            second = await rt.realtime.start(thread.id)
            await _settle()
            await rt.realtime.append_text(thread.id, "to the new one")
            await _settle()
            replaced = _seen(notes)
            await rt.realtime.stop(thread.id)
            await _settle()
            stopped = _seen(notes)
        await rt.start_turn(thread.id, script([{"type": "say", "text": "ok"}]))
        await rt.wait_turn(thread.id)
        path = (await rt.read_thread(thread.id)).path
    assert first != second
    assert [m for m, _ in replaced if m.endswith(("started", "closed"))] == [
        "thread/realtime/started",
        "thread/realtime/started",
    ]
    assert transport.connections[0].closed and transport.connections[0].sent_text == []
    assert transport.connections[1].sent_text == ["to the new one"]
    assert [p["reason"] for m, p in stopped if m == "thread/realtime/closed"] == ["requested"]
    developer = [
        message_text(i)
        for i in read_items(Path(path or ""))
        if isinstance(i, Message) and i.role == "developer"
    ]
    assert any(first in text and "realtime conversation" in text for text in developer)
    async with open_runtime(tmp_path) as rt:
        actor = await rt.registry.loaded_actor(thread.id)
        history = [message_text(m) for m in actor.model_history if isinstance(m, Message)]
    assert any(first in text for text in history)


async def test_full_audio_queue_drops_with_a_warning_and_text_waits(tmp_path: Path) -> None:
    transport = LoopbackTransport()
    async with open_runtime(
        tmp_path, realtime_transport=transport, realtime_audio_queue=2, realtime_text_queue=1
    ) as rt:
        thread = await rt.start_thread()
        await rt.realtime.start(thread.id)
        connection = transport.connections[0]
        connection.gate = trio.Event()  # the far end stops taking input
        async with rt.subscribe(thread.id) as notes:
            accepted = [await rt.realtime.append_audio(thread.id, FRAME) for _ in range(6)]
            await _settle()
            # The writer holds one frame, the queue two: the rest were dropped.
            assert accepted.count(False) >= 3 and accepted[:2] == [True, True]
            warnings = [p for m, p in _seen(notes) if m == "warning"]
            assert len(warnings) == accepted.count(False)
            await rt.realtime.append_text(thread.id, "one")
            await _settle()
            await rt.realtime.append_text(thread.id, "two")
            with trio.move_on_after(0.2) as waited:
                await rt.realtime.append_text(thread.id, "three")
            assert waited.cancelled_caught  # text waits for room instead of being dropped
            connection.gate.set()
            await rt.realtime.append_text(thread.id, "three")
            await _settle()
        assert connection.sent_text == ["one", "two", "three"]
        assert len(connection.sent_audio) == accepted.count(True)


async def test_without_a_transport_start_is_a_clear_error(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        with pytest.raises(ThreadError, match="transport"):
            await rt.realtime.start(thread.id)


async def test_unloading_a_thread_closes_its_session(tmp_path: Path) -> None:
    transport = LoopbackTransport()
    async with open_runtime(tmp_path, realtime_transport=transport, passivation_timeout=0.05) as rt:
        thread = await rt.start_thread()
        await rt.start_turn(thread.id, script([{"type": "say", "text": "ok"}]))
        await rt.wait_turn(thread.id)
        async with rt.subscribe(thread.id) as notes:
            await rt.realtime.start(thread.id)
            await trio.sleep(0.3)  # well past the idle timeout: a live session keeps it loaded
            assert thread.id in rt.loaded_thread_ids()
            await rt.unload_thread(thread.id)
            seen = _seen(notes)
    assert [p["reason"] for m, p in seen if m == "thread/realtime/closed"] == ["requested"]
    assert transport.connections[0].closed


async def test_serve_realtime_methods(tmp_path: Path) -> None:
    async with start_server(tmp_path, "--realtime-transport", "loopback") as process:
        client = RpcClient(process)
        await client.initialize()
        tid = (await client.result("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        assert await client.result("thread/realtime/start", {"threadId": tid, "prompt": "hi"}) == {}
        (started,) = await client.until("thread/realtime/started")
        await client.result("thread/realtime/appendText", {"threadId": tid, "text": "hey"})
        (item,) = await client.until("thread/realtime/itemAdded")
        assert item["params"]["item"]["content"][0]["text"] == "echo: hey"
        audio = {"data": "AAAA", "sampleRate": 16000, "numChannels": 1}
        await client.result("thread/realtime/appendAudio", {"threadId": tid, "audio": audio})
        (delta,) = await client.until("thread/realtime/outputAudio/delta")
        assert delta["params"]["audio"]["sampleRate"] == 16000
        await client.result("thread/realtime/start", {"threadId": tid})
        await client.until("thread/realtime/started", 2)
        await client.result("thread/realtime/stop", {"threadId": tid})
        closes = await client.until("thread/realtime/closed")
        assert [c["params"]["reason"] for c in closes] == ["requested"]
        late = await client.call("thread/realtime/appendText", {"threadId": tid, "text": "x"})
        assert late["error"]["code"] == -32600 and "not running" in late["error"]["message"]
        bad = await client.call("thread/realtime/appendAudio", {"threadId": tid, "audio": {}})
        assert bad["error"]["code"] == -32602
        assert started["params"]["sessionId"]
