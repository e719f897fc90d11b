"""The experimental ``thread/realtime/*`` methods of ``threadlog serve``.

``start {threadId, prompt?, sessionId?}``, ``appendAudio {threadId, audio}``, ``appendText
{threadId, text}`` and ``stop {threadId}`` all answer ``{}``; what the session does arrives
as ``thread/realtime/*`` notifications (``actors.realtime``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from threadlog.actors.realtime.session import AudioFrame
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.server.params import Params


class RealtimeStartParams(Params, frozen=True):
    """``thread/realtime/start``."""

    thread_id: str
    prompt: str = ""
    session_id: str | None = None


class RealtimeAudioParams(Params, frozen=True):
    """``thread/realtime/appendAudio``."""

    thread_id: str
    audio: AudioFrame


class RealtimeTextParams(Params, frozen=True):
    """``thread/realtime/appendText``."""

    thread_id: str
    text: str


class RealtimeStopParams(Params, frozen=True):
    """``thread/realtime/stop``."""

    thread_id: str


def realtime_handlers(runtime: Runtime) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """The realtime methods, keyed by name."""

    async def start(raw: Any) -> Any:
        params = msgspec.convert(raw, RealtimeStartParams)
        await runtime.realtime.start(
            params.thread_id, prompt=params.prompt, session_id=params.session_id
        )
        return {}

    async def append_audio(raw: Any) -> Any:
        params = msgspec.convert(raw, RealtimeAudioParams)
        await runtime.realtime.append_audio(params.thread_id, params.audio)
        return {}

    async def append_text(raw: Any) -> Any:
        params = msgspec.convert(raw, RealtimeTextParams)
        await runtime.realtime.append_text(params.thread_id, params.text)
        return {}

    async def stop(raw: Any) -> Any:
        params = msgspec.convert(raw, RealtimeStopParams)
        await runtime.realtime.stop(params.thread_id)
        return {}

    return {
        "thread/realtime/start": start,
        "thread/realtime/appendAudio": append_audio,
        "thread/realtime/appendText": append_text,
        "thread/realtime/stop": stop,
    }
