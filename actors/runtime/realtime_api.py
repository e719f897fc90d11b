"""The host API of realtime conversations: ``runtime.realtime.start/append_*/stop``.

Start and stop run inside the thread's actor, so a start that replaces a session and a stop
can never interleave; appends go straight to the live session's queues, so a slow model
never holds up the thread's mailbox.
"""

from __future__ import annotations

from threadlog.actors.realtime.session import (
    REPLACED_NOTICE,
    AudioFrame,
    RealtimeSession,
    RealtimeTransport,
    not_running,
)
from threadlog.actors.runtime.registry import ThreadRegistry
from threadlog.events import notifications as notes
from threadlog.events.errors import RealtimeError
from threadlog.events.response_items import InputText, Message


class RealtimeApi:
    """Realtime sessions of a runtime's threads."""

    def __init__(
        self,
        registry: ThreadRegistry,
        transport: RealtimeTransport | None,
        *,
        audio_capacity: int,
        text_capacity: int,
    ) -> None:
        self.registry = registry
        self.transport = transport
        self.audio_capacity = audio_capacity
        self.text_capacity = text_capacity

    async def start(
        self, thread_id: str, *, prompt: str = "", session_id: str | None = None
    ) -> str:
        """Start a session on a thread (replacing its live one); returns the session id."""
        transport = self.transport
        if transport is None:
            raise RealtimeError("realtime conversations need a transport; none is configured")
        actor = await self.registry.loaded_actor(thread_id)

        async def start() -> str:
            old = actor.realtime
            if old is not None and old.active:
                actor.realtime = None
                await old.stop(announce=False)  # replaced: silent, never transport_closed
                notice = REPLACED_NOTICE.format(old=old.session_id)
                await actor.emit([Message(role="developer", content=[InputText(notice)])])
            connection = await transport.connect(prompt, session_id)
            session = RealtimeSession(
                actor.thread_id,
                connection,
                actor.publish,
                audio_capacity=self.audio_capacity,
                text_capacity=self.text_capacity,
            )
            actor.realtime = session
            self.registry.spawn(session.run)
            actor.publish(
                notes.Notification(
                    "thread/realtime/started",
                    {"threadId": actor.thread_id, "sessionId": session.session_id},
                )
            )
            return session.session_id

        return await actor.call(start)

    def _live(self, thread_id: str) -> RealtimeSession:
        tid = self.registry.checked_id(thread_id)
        actor = self.registry.loaded(tid)
        session = actor.realtime if actor is not None else None
        if session is None or not session.active:
            raise not_running(tid)
        return session

    async def append_audio(self, thread_id: str, frame: AudioFrame) -> bool:
        """Queue an audio frame; False when it was dropped because the queue was full."""
        return self._live(thread_id).append_audio(frame)

    async def append_text(self, thread_id: str, text: str) -> None:
        """Queue a text (waits while the text queue is full)."""
        await self._live(thread_id).append_text(text)

    async def stop(self, thread_id: str) -> None:
        """Close the thread's session (``closed`` with reason ``requested``)."""
        self._live(thread_id)
        actor = await self.registry.loaded_actor(thread_id)

        async def stop() -> None:
            session = actor.realtime
            if session is None or not session.active:
                raise not_running(actor.thread_id)
            actor.realtime = None
            await session.stop(announce=True)

        await actor.call(stop)
