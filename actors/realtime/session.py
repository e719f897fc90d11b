"""Realtime conversations: at most one live voice/text session per thread (Codex section 10).

A session talks to the model over a ``RealtimeTransport``; ``LoopbackTransport`` ships for
tests and demos (it echoes). Input goes through bounded queues: an audio frame that finds
its queue full is dropped with a warning (audio is only useful now), text waits for room
(text must not be lost). The host hears ``thread/realtime/started``, the transport's events,
and ``thread/realtime/closed`` with reason ``requested`` or ``transport_closed``.

Each session owns an ``active`` flag and only the code that flips *its own* flag from true
to false may announce its close. Replacing a session clears the old flag first, so the old
session ends silently and can never close its successor (the race the early Codex had).
Nothing here is persisted, except the developer message the thread records when a session
is replaced, so the model knows its earlier voice session ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import msgspec
import trio

from threadlog.events import notifications as notes
from threadlog.events.errors import RealtimeError
from threadlog.events.ids import new_id
from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.realtime")
AUDIO_QUEUE = 256
TEXT_QUEUE = 64


class AudioFrame(msgspec.Struct, frozen=True, rename="camel"):
    """One chunk of audio (base64 PCM, as the v2 ``ThreadRealtimeAudioChunk``)."""

    data: str
    sample_rate: int
    num_channels: int
    samples_per_channel: int | None = None


class RealtimeConnection(Protocol):
    """One open session with the realtime model."""

    session_id: str

    async def send_audio(self, frame: AudioFrame) -> None:
        """Send an audio frame."""

    async def send_text(self, text: str) -> None:
        """Send a text message."""

    async def receive(self) -> dict[str, Any] | None:
        """The next event (``{"AudioOut": …}``, ``{"ConversationItemAdded": …}``,
        ``{"Error": "…"}``, …), or None once the transport has closed."""

    async def aclose(self) -> None:
        """Close the connection (idempotent)."""


class RealtimeTransport(Protocol):
    """Opens realtime sessions."""

    async def connect(self, prompt: str, session_id: str | None) -> RealtimeConnection:
        """Open a session with this prompt (resuming ``session_id`` if given)."""


class LoopbackConnection:
    """Echoes: audio comes back as ``AudioOut``, text as an assistant item."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.sent_audio: list[AudioFrame] = []
        self.sent_text: list[str] = []
        self.gate = trio.Event()  # tests hold the far end still by clearing this
        self.gate.set()
        self._events_in, self._events_out = trio.open_memory_channel[dict[str, Any] | None](1024)
        self.closed = False

    async def send_audio(self, frame: AudioFrame) -> None:
        """Echo an audio frame back (after the gate opens)."""
        await self.gate.wait()
        self.sent_audio.append(frame)
        await self._events_in.send({"AudioOut": msgspec.to_builtins(frame)})

    async def send_text(self, text: str) -> None:
        """Answer a text with an assistant item."""
        await self.gate.wait()
        self.sent_text.append(text)
        item = {"type": "message", "role": "assistant", "content": [{"text": f"echo: {text}"}]}
        await self._events_in.send({"ConversationItemAdded": item})

    async def receive(self) -> dict[str, Any] | None:
        """The next echoed event, or None after the far end hung up."""
        try:
            return await self._events_out.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return None

    def hang_up(self) -> None:
        """Simulate the far end closing the transport."""
        self._events_in.send_nowait(None)

    async def aclose(self) -> None:
        """Close both ends."""
        self.closed = True
        self._events_in.close()
        self._events_out.close()


class LoopbackTransport:
    """A transport that needs no network; keeps its connections for inspection."""

    def __init__(self) -> None:
        self.connections: list[LoopbackConnection] = []

    async def connect(self, prompt: str, session_id: str | None) -> LoopbackConnection:
        """Open an echoing session."""
        connection = LoopbackConnection(session_id or f"rt_{new_id()}")
        self.connections.append(connection)
        return connection


def event_notification(thread_id: str, event: dict[str, Any]) -> notes.Notification | None:
    """The v2 notification for a transport event (None for ones hosts do not see)."""
    if "AudioOut" in event:
        return notes.Notification(
            "thread/realtime/outputAudio/delta", {"threadId": thread_id, "audio": event["AudioOut"]}
        )
    if "ConversationItemAdded" in event:
        return notes.Notification(
            "thread/realtime/itemAdded",
            {"threadId": thread_id, "item": event["ConversationItemAdded"]},
        )
    if "Error" in event:
        return notes.Notification(
            "thread/realtime/error", {"threadId": thread_id, "message": str(event["Error"])}
        )
    return None


class RealtimeSession:
    """One running session: two bounded input queues, a reader, a writer."""

    def __init__(
        self,
        thread_id: str,
        connection: RealtimeConnection,
        publish: Callable[[notes.Notification], None],
        *,
        audio_capacity: int = AUDIO_QUEUE,
        text_capacity: int = TEXT_QUEUE,
    ) -> None:
        self.thread_id = thread_id
        self.connection = connection
        self.session_id = connection.session_id
        self.publish = publish
        self.active = True
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.dropped_audio = 0
        self._audio_in, self._audio_out = trio.open_memory_channel[AudioFrame](audio_capacity)
        self._text_in, self._text_out = trio.open_memory_channel[str](text_capacity)

    def _finish_if_active(self) -> bool:
        """Flip this session's own flag; True only for the one caller that did."""
        if not self.active:
            return False
        self.active = False
        return True

    async def run(self) -> None:
        """Pump input to the transport and events to the host until closed."""
        try:
            with self.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_audio)
                    nursery.start_soon(self._write_text)
                    await self._read()
                    nursery.cancel_scope.cancel()
            if self._finish_if_active():  # the transport ended on its own
                self.publish(closed(self.thread_id, "transport_closed"))
        finally:
            with trio.CancelScope(shield=True):
                await self.connection.aclose()
            self.done.set()

    async def _read(self) -> None:
        while True:
            event = await self.connection.receive()
            if event is None:
                return
            note = event_notification(self.thread_id, event)
            if note is not None:
                self.publish(note)

    async def _write_audio(self) -> None:
        async for frame in self._audio_out:
            await self.connection.send_audio(frame)

    async def _write_text(self) -> None:
        async for text in self._text_out:
            await self.connection.send_text(text)

    def append_audio(self, frame: AudioFrame) -> bool:
        """Queue a frame; a full queue drops it with a warning (False)."""
        try:
            self._audio_in.send_nowait(frame)
            return True
        except trio.WouldBlock:
            self.dropped_audio += 1
            log.warning(
                "realtime_audio_dropped", thread_id=self.thread_id, total=self.dropped_audio
            )
            self.publish(
                notes.Notification(
                    "warning",
                    {
                        "threadId": self.thread_id,
                        "message": "realtime audio input queue is full; dropped a frame",
                    },
                )
            )
            return False

    async def append_text(self, text: str) -> None:
        """Queue a text, waiting for room."""
        await self._text_in.send(text)

    async def stop(self, *, announce: bool) -> None:
        """End the session and wait for it; ``closed(requested)`` only when ``announce``."""
        flipped = self._finish_if_active()
        self.scope.cancel()
        with trio.CancelScope(shield=True):
            await self.done.wait()
        if flipped and announce:
            self.publish(closed(self.thread_id, "requested"))


def closed(thread_id: str, reason: str) -> notes.Notification:
    """``thread/realtime/closed``."""
    return notes.Notification("thread/realtime/closed", {"threadId": thread_id, "reason": reason})


def not_running(thread_id: str) -> RealtimeError:
    """Audio or text for a thread with no live session."""
    return RealtimeError(f"conversation is not running on thread {thread_id}")


REPLACED_NOTICE = (
    "<realtime_conversation>\nThe realtime conversation {old} was closed because a new "
    "realtime conversation was started.\n</realtime_conversation>"
)
