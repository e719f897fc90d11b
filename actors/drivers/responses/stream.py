"""The Responses API's server-sent events, read into what a turn does with them (pure).

``read_event`` takes one SSE event's data (a JSON object with a ``type``) and returns a
``StreamEvent``: a text delta to stream, an output item the model finished, the usage of a
completed response, or the failure of one. Events the driver does not act on (the
``created`` and ``in_progress`` notices, content-part boundaries, deltas of items it
records whole) come back ``None``. A malformed event is a ``StreamError``: the stream
is as broken as a cut one.
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadlog.events.response_items import (
    CustomToolCall,
    FunctionCall,
    Message,
    OutputText,
    Reasoning,
    ResponseItem,
)


class StreamError(Exception):
    """The stream broke before ``response.completed`` (cut, idle, malformed)."""


class TextDelta(msgspec.Struct, frozen=True):
    """A piece of the assistant message being written."""

    text: str


class ItemDone(msgspec.Struct, frozen=True):
    """An output item the model finished (a message, reasoning, a tool call ...)."""

    item: ResponseItem | None
    raw: dict[str, Any]


class Completed(msgspec.Struct, frozen=True):
    """The response is complete; its token usage when the server gave it."""

    response_id: str | None
    input_tokens: int
    output_tokens: int


class Failed(msgspec.Struct, frozen=True):
    """``response.failed`` (or ``incomplete``): the server gave up on this response."""

    code: str | None
    message: str


StreamEvent = TextDelta | ItemDone | Completed | Failed

_item_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def _output_item(raw: dict[str, Any]) -> ResponseItem | None:
    kind = raw.get("type")
    try:
        if kind == "message":
            parts = raw.get("content") or []
            text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
            return Message(role="assistant", content=[OutputText(text)], phase=raw.get("phase"))
        if kind == "reasoning":
            return msgspec.convert(
                {
                    "type": "reasoning",
                    "summary": raw.get("summary") or [],
                    "content": raw.get("content"),
                    "encrypted_content": raw.get("encrypted_content"),
                },
                Reasoning,
            )
        if kind == "function_call":
            return FunctionCall(
                name=str(raw["name"]),
                arguments=str(raw.get("arguments", "")),
                call_id=str(raw["call_id"]),
            )
        if kind == "custom_tool_call":
            return CustomToolCall(
                call_id=str(raw["call_id"]), name=str(raw["name"]), input=str(raw.get("input", ""))
            )
    except (KeyError, msgspec.ValidationError) as exc:
        raise StreamError(f"bad {kind} item: {exc}") from None
    return None


def _usage(response: Any) -> tuple[int, int]:
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)


def read_event(data: bytes | str) -> StreamEvent | None:
    """What one SSE event's data means for the turn (``StreamError`` if malformed)."""
    try:
        event = _item_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise StreamError(f"bad SSE event: {exc}") from None
    if not isinstance(event, dict):
        raise StreamError("bad SSE event: not a JSON object")
    kind = event.get("type")
    if kind == "response.output_text.delta":
        return TextDelta(str(event.get("delta", "")))
    if kind == "response.output_item.done":
        raw = event.get("item")
        if not isinstance(raw, dict):
            raise StreamError("bad SSE event: response.output_item.done without an item")
        return ItemDone(_output_item(raw), raw)
    if kind == "response.completed":
        response = event.get("response")
        rid = response.get("id") if isinstance(response, dict) else None
        return Completed(rid if isinstance(rid, str) else None, *_usage(response))
    if kind in ("response.failed", "response.incomplete"):
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        found = response.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        if kind == "response.incomplete":
            details = response.get("incomplete_details") or {}
            reason = details.get("reason") if isinstance(details, dict) else None
            return Failed(None, f"Incomplete response returned, reason: {reason or 'unknown'}")
        message = error.get("message") or "response.failed event received"
        code = error.get("code")
        return Failed(code if isinstance(code, str) else None, str(message))
    if kind == "error":
        code = event.get("code")
        message = str(event.get("message") or "error event received")
        return Failed(code if isinstance(code, str) else None, message)
    return None
