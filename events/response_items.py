"""``response_item`` payloads: what the model saw and said (the Responses API items).

Tagged by ``type`` in snake_case, as Codex writes them. Codex never serializes the items'
``id`` fields; we accept and ignore them on read. Content parts are typed because folds and
fork slicing look inside messages; tool arguments and outputs stay plain JSON values.
"""

from __future__ import annotations

from typing import Any

import msgspec


class InputText(msgspec.Struct, frozen=True, tag_field="type", tag="input_text"):
    """A text part of a user or developer message."""

    text: str


class InputImage(
    msgspec.Struct, frozen=True, tag_field="type", tag="input_image", omit_defaults=True
):
    """An image part (usually a data URL); ``detail`` omitted when absent, as Codex does."""

    image_url: str
    detail: str | None = None


class OutputText(msgspec.Struct, frozen=True, tag_field="type", tag="output_text"):
    """A text part of an assistant message."""

    text: str


ContentItem = InputText | InputImage | OutputText


class SummaryText(msgspec.Struct, frozen=True, tag_field="type", tag="summary_text"):
    """One reasoning summary paragraph."""

    text: str


class ReasoningText(msgspec.Struct, frozen=True, tag_field="type", tag="reasoning_text"):
    """Raw reasoning content."""

    text: str


class PlainText(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    """Reasoning content given as plain text."""

    text: str


class ResponseItem(msgspec.Struct, frozen=True, tag_field="type", gc=False):
    """Base of every modelled ``response_item`` payload (``gc=False`` as for ``EventMsg``)."""


class Message(ResponseItem, frozen=True, tag="message"):
    """A message of role ``user``, ``assistant``, ``developer`` or ``system``."""

    role: str
    content: list[ContentItem]
    end_turn: bool | None = None
    phase: str | None = None


class Reasoning(ResponseItem, frozen=True, tag="reasoning"):
    """Model reasoning: summary paragraphs, optional raw content, encrypted state."""

    summary: list[SummaryText] = []
    content: list[ReasoningText | PlainText] | None = None
    encrypted_content: str | None = None


class LocalShellCall(ResponseItem, frozen=True, tag="local_shell_call"):
    """A shell call issued through the local_shell tool."""

    status: str
    action: Any
    call_id: str | None = None


class FunctionCall(ResponseItem, frozen=True, tag="function_call"):
    """A function tool call; ``arguments`` is a JSON string."""

    name: str
    arguments: str
    call_id: str
    namespace: str | None = None


class FunctionCallOutput(ResponseItem, frozen=True, tag="function_call_output"):
    """The output of a function call: a string or a list of content parts."""

    call_id: str
    output: Any


class CustomToolCall(ResponseItem, frozen=True, tag="custom_tool_call"):
    """A free-form (custom) tool call."""

    call_id: str
    name: str
    input: str
    status: str | None = None


class CustomToolCallOutput(ResponseItem, frozen=True, tag="custom_tool_call_output"):
    """The output of a custom tool call."""

    call_id: str
    output: Any
    name: str | None = None


class ToolSearchCall(ResponseItem, frozen=True, tag="tool_search_call"):
    """A tool-search call (later Codex versions)."""

    call_id: str | None = None
    status: str | None = None
    execution: Any = None
    arguments: Any = None


class ToolSearchOutput(ResponseItem, frozen=True, tag="tool_search_output"):
    """The tools a tool search returned (later Codex versions)."""

    call_id: str | None = None
    status: str | None = None
    execution: Any = None
    tools: Any = None


class WebSearchCall(ResponseItem, frozen=True, tag="web_search_call"):
    """A hosted web search."""

    status: str | None = None
    action: Any = None


class ImageGenerationCall(ResponseItem, frozen=True, tag="image_generation_call"):
    """A hosted image generation."""

    id: str | None = None
    status: str | None = None
    revised_prompt: str | None = None
    result: str | None = None


class GhostSnapshot(ResponseItem, frozen=True, tag="ghost_snapshot"):
    """A snapshot commit Codex keeps for undo."""

    ghost_commit: Any


class Compaction(ResponseItem, frozen=True, tag="compaction"):
    """Encrypted state of a server-side compaction."""

    encrypted_content: str


class CompactionSummary(ResponseItem, frozen=True, tag="compaction_summary"):
    """The older spelling of ``compaction`` (a serde alias in Codex)."""

    encrypted_content: str


RESPONSE_ITEM_TYPES: tuple[type[ResponseItem], ...] = (
    Message,
    Reasoning,
    LocalShellCall,
    FunctionCall,
    FunctionCallOutput,
    CustomToolCall,
    CustomToolCallOutput,
    ToolSearchCall,
    ToolSearchOutput,
    WebSearchCall,
    ImageGenerationCall,
    GhostSnapshot,
    Compaction,
    CompactionSummary,
)
"""Every modelled ``response_item`` kind, for building decoders and strategies."""


def message_text(message: Message) -> str:
    """The concatenated text parts of a message."""
    return "".join(
        part.text for part in message.content if isinstance(part, InputText | OutputText)
    )
