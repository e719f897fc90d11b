"""Pure conversion of a completed ``TurnItem`` (0.169+ ``item_completed``) to a v2 item.

Since 0.169 Codex records every completed item of a turn as ``event_msg item_completed
{thread_id, turn_id, item, started_at_ms, completed_at_ms}``, where ``item`` is the core
``TurnItem`` (PascalCase ``type``, snake_case fields). The app-server shows it as the v2
``ThreadItem`` with the item's real id (the user message's UUIDv7, the model's item id, the
tool's call id) and its timings. One table maps each ``TurnItem`` type to its converter; a
type without a row (a kind the app-server does not show, or one newer than us) gives no
item, and its line still round-trips unchanged.

Values come from other writers' logs, so every field is read defensively: a malformed item
gives None, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypedDict, cast
from urllib.parse import unquote

from threadlog.events.thread_items import (
    AgentMessageItem,
    CollabAgentToolCallItem,
    CommandExecutionItem,
    ContextCompactionItem,
    DynamicToolCallItem,
    FileChangeItem,
    ImageGenerationItem,
    ImageInput,
    ImageViewItem,
    LocalImageInput,
    McpToolCallError,
    McpToolCallItem,
    McpToolCallResult,
    PlanItem,
    ReasoningItem,
    TextInput,
    ThreadItemKind,
    UserInput,
    UserMessageItem,
    WebSearchItem,
)
from threadlog.projections.item_mapping import (
    agent_state,
    camel_keys,
    command_action,
    file_update_change,
    join_command,
)

_STATUSES: Final = frozenset({"inProgress", "completed", "failed", "declined"})


class Timing(TypedDict):
    """When an item started and completed (Unix ms), as ``item_completed`` says."""

    started_at_ms: int | None
    completed_at_ms: int | None


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _status(value: Any, default: str = "completed") -> Any:
    return value if value in _STATUSES else default


def duration_ms(value: Any) -> int | None:
    """A serde ``Duration`` (``{secs, nanos}``) in whole milliseconds."""
    if not isinstance(value, dict):
        return None
    secs, nanos = value.get("secs", 0), value.get("nanos", 0)
    if not isinstance(secs, int) or not isinstance(nanos, int):
        return None
    return secs * 1000 + nanos // 1_000_000


def path_of_uri(value: Any) -> str:
    """A ``PathUri`` (``file:///a/b``) as the plain path the app-server shows."""
    text = _str(value)
    return unquote(text[len("file://") :]) if text.startswith("file://") else text


def user_input(value: Any) -> UserInput | None:
    """A core ``UserInput`` as v2 (text, image, local image; other kinds are not shown)."""
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind == "text":
        return TextInput(
            text=_str(value.get("text")), text_elements=_list(value.get("text_elements"))
        )
    if kind == "image":
        return ImageInput(url=_str(value.get("image_url", value.get("url"))))
    if kind in ("local_image", "localImage"):
        return LocalImageInput(path=_str(value.get("path")))
    return None


def _user_message(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    content = [c for c in map(user_input, _list(item.get("content"))) if c is not None]
    return UserMessageItem(
        id=_str(item.get("id")),
        content=content,
        client_id=_opt_str(item.get("client_id")),
        **timing,
    )


def _agent_message(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    text = "".join(
        _str(part.get("text")) for part in _list(item.get("content")) if isinstance(part, dict)
    )
    return AgentMessageItem(
        id=_str(item.get("id")),
        text=text,
        phase=_opt_str(item.get("phase")),
        memory_citation=camel_keys(item.get("memory_citation")),
        **timing,
    )


def _reasoning(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return ReasoningItem(
        id=_str(item.get("id")),
        summary=[s for s in _list(item.get("summary_text")) if isinstance(s, str)],
        content=[s for s in _list(item.get("raw_content")) if isinstance(s, str)],
        **timing,
    )


def _plan(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return PlanItem(id=_str(item.get("id")), text=_str(item.get("text")), **timing)


def _command_execution(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    command = [c for c in _list(item.get("command")) if isinstance(c, str)]
    exit_code = item.get("exit_code")
    source = item.get("source")
    return CommandExecutionItem(
        id=_str(item.get("id")),
        command=join_command(command),
        cwd=path_of_uri(item.get("cwd")),
        status=_status(item.get("status")),
        command_actions=[command_action(p) for p in _list(item.get("parsed_cmd"))],
        process_id=_opt_str(item.get("process_id")),
        aggregated_output=_opt_str(item.get("aggregated_output")),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        duration_ms=duration_ms(item.get("duration")),
        source=camel_keys(source) if isinstance(source, str) else None,
        **timing,
    )


def _file_change(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    changes = item.get("changes") if isinstance(item.get("changes"), dict) else {}
    assert isinstance(changes, dict)
    return FileChangeItem(
        id=_str(item.get("id")),
        changes=[file_update_change(path, changes[path]) for path in sorted(changes)],
        status=_status(item.get("status")),
        **timing,
    )


def _mcp_tool_call(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    result = item.get("result")
    error = item.get("error")
    return McpToolCallItem(
        id=_str(item.get("id")),
        server=_str(item.get("server")),
        tool=_str(item.get("tool")),
        status=_status(item.get("status")),
        arguments=item.get("arguments"),
        result=McpToolCallResult(
            content=_list(result.get("content")),
            structured_content=result.get("structuredContent", result.get("structured_content")),
        )
        if isinstance(result, dict)
        else None,
        error=McpToolCallError(message=_str(error.get("message")))
        if isinstance(error, dict)
        else None,
        duration_ms=duration_ms(item.get("duration")),
        **timing,
    )


def _dynamic_tool_call(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    success = item.get("success")
    content = item.get("content_items", item.get("contentItems"))
    return DynamicToolCallItem(
        id=_str(item.get("id")),
        tool=_str(item.get("tool")),
        arguments=item.get("arguments"),
        status=_status(item.get("status")),
        content_items=camel_keys(content) if isinstance(content, list) else None,
        success=success if isinstance(success, bool) else None,
        duration_ms=duration_ms(item.get("duration")),
        **timing,
    )


def _collab_tool_call(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    states = item.get("agents_states", item.get("agentsStates"))
    return CollabAgentToolCallItem(
        id=_str(item.get("id")),
        tool=cast(Any, item.get("tool") if isinstance(item.get("tool"), str) else "spawnAgent"),
        status=_status(item.get("status")),
        sender_thread_id=_str(item.get("sender_thread_id", item.get("senderThreadId"))),
        receiver_thread_ids=_list(item.get("receiver_thread_ids", item.get("receiverThreadIds"))),
        agents_states={k: agent_state(v) for k, v in states.items()}
        if isinstance(states, dict)
        else {},
        prompt=_opt_str(item.get("prompt")),
        **timing,
    )


def _web_search(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return WebSearchItem(
        id=_str(item.get("id")),
        query=_str(item.get("query")),
        action=camel_keys(item.get("action")),
        **timing,
    )


def _image_view(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return ImageViewItem(id=_str(item.get("id")), path=path_of_uri(item.get("path")), **timing)


def _image_generation(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return ImageGenerationItem(
        id=_str(item.get("id")),
        status=_str(item.get("status")),
        revised_prompt=_opt_str(item.get("revised_prompt")),
        result=_str(item.get("result")),
        **timing,
    )


def _context_compaction(item: dict[str, Any], timing: Timing) -> ThreadItemKind:
    return ContextCompactionItem(id=_str(item.get("id")), **timing)


TURN_ITEM_KINDS: Final[dict[str, Callable[[dict[str, Any], Timing], ThreadItemKind]]] = {
    "UserMessage": _user_message,
    "AgentMessage": _agent_message,
    "Reasoning": _reasoning,
    "Plan": _plan,
    "CommandExecution": _command_execution,
    "FileChange": _file_change,
    "McpToolCall": _mcp_tool_call,
    "DynamicToolCall": _dynamic_tool_call,
    "CollabAgentToolCall": _collab_tool_call,
    "WebSearch": _web_search,
    "ImageView": _image_view,
    "ImageGeneration": _image_generation,
    "ContextCompaction": _context_compaction,
}
"""Every ``TurnItem`` type the app-server shows, and its v2 converter."""


def thread_item_of(
    item: Any, started_at_ms: int | None = None, completed_at_ms: int | None = None
) -> ThreadItemKind | None:
    """The v2 item a completed ``TurnItem`` is, or None (unknown type, malformed value)."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    convert = TURN_ITEM_KINDS.get(_str(item.get("type")))
    if convert is None:
        return None
    timing: Timing = {"started_at_ms": started_at_ms, "completed_at_ms": completed_at_ms}
    try:
        return convert(item, timing)
    except (TypeError, ValueError, AttributeError):
        return None
