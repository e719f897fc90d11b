"""Ops: what a host sends a thread actor (Codex's ``Op``, snake_case ``type`` tag).

An op is a request; the actor answers by emitting events. Ops are never written to the
rollout file themselves, only the events they cause.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Op(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every op."""


class TextUserInput(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    """Typed text."""

    text: str
    text_elements: list[Any] = []


class ImageUserInput(msgspec.Struct, frozen=True, tag_field="type", tag="image"):
    """An image by URL (usually a data URL)."""

    image_url: str


class LocalImageUserInput(msgspec.Struct, frozen=True, tag_field="type", tag="local_image"):
    """An image by local path."""

    path: str


UserInputItem = TextUserInput | ImageUserInput | LocalImageUserInput


class UserTurn(Op, frozen=True, tag="user_turn"):
    """Start a turn with this input and these settings."""

    items: list[UserInputItem]
    cwd: str | None = None
    approval_policy: Any = None
    sandbox_policy: Any = None
    model: str | None = None
    effort: str | None = None
    summary: str | None = None
    final_output_json_schema: Any = None
    collaboration_mode: Any = None
    personality: str | None = None


class Interrupt(Op, frozen=True, tag="interrupt"):
    """Stop the running turn (it ends ``interrupted``)."""


class SetThreadName(Op, frozen=True, tag="set_thread_name"):
    """Rename the thread."""

    name: str


class ThreadRollback(Op, frozen=True, tag="thread_rollback"):
    """Drop the last ``num_turns`` turns."""

    num_turns: int


class DynamicToolResponse(Op, frozen=True, tag="dynamic_tool_response"):
    """The host's answer to a dynamic tool call."""

    id: str
    content_items: list[Any] = []
    success: bool = True


class RealtimeConversationStart(Op, frozen=True, tag="realtime_conversation_start"):
    """Open a realtime session (replacing any active one)."""

    prompt: str = ""
    session_id: str | None = None


class RealtimeConversationAudio(Op, frozen=True, tag="realtime_conversation_audio"):
    """Append an audio frame to the realtime session."""

    frame: Any


class RealtimeConversationText(Op, frozen=True, tag="realtime_conversation_text"):
    """Append text to the realtime session."""

    text: str


class RealtimeConversationClose(Op, frozen=True, tag="realtime_conversation_close"):
    """Close the realtime session."""


class Compact(Op, frozen=True, tag="compact"):
    """Compact the model context."""


class Shutdown(Op, frozen=True, tag="shutdown"):
    """Finish pending work and stop the actor."""


OP_TYPES: tuple[type[Op], ...] = (
    UserTurn,
    Interrupt,
    SetThreadName,
    ThreadRollback,
    DynamicToolResponse,
    RealtimeConversationStart,
    RealtimeConversationAudio,
    RealtimeConversationText,
    RealtimeConversationClose,
    Compact,
    Shutdown,
)
"""Every op, for decoders and strategies."""
