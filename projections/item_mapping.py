"""Pure conversions from persisted tool and review events to v2 ``ThreadItem`` values.

One function per event kind, each a plain value-in, value-out mapping (Codex section 4.2).
The history fold decides *where* an item goes and which id it gets; this module decides
*what* it looks like.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from threadlog.events.event_msgs import EnteredReviewMode, ExitedReviewMode
from threadlog.events.thread_items import (
    AddChange,
    CollabAgentState,
    CollabAgentToolCallItem,
    CommandActionKind,
    CommandExecutionItem,
    DeleteChange,
    DynamicToolCallItem,
    FileChangeItem,
    FileUpdateChange,
    ImageGenerationItem,
    ImageViewItem,
    ListFilesAction,
    McpToolCallError,
    McpToolCallItem,
    McpToolCallResult,
    ReadAction,
    SearchAction,
    UnknownAction,
    UpdateChange,
    WebSearchItem,
)
from threadlog.events.tool_events import (
    CollabAgentInteractionEnd,
    CollabAgentSpawnEnd,
    CollabCloseEnd,
    CollabResumeEnd,
    CollabWaitingEnd,
    DynamicToolCallRequest,
    DynamicToolCallResponse,
    DynamicToolContentItem,
    ExecCommandEnd,
    ImageGenerationEnd,
    McpToolCallEnd,
    PatchApplyEnd,
    ViewImageToolCall,
    WebSearchEnd,
)

_CAMEL = re.compile(r"_([a-z0-9])")


def camel_keys(value: Any) -> Any:
    """Turn snake_case strings and object keys into camelCase (``codex_error_info`` style)."""
    if isinstance(value, str):
        return _CAMEL.sub(lambda m: m.group(1).upper(), value)
    if isinstance(value, dict):
        return {camel_keys(k): _camel_values(v) for k, v in value.items()}
    return value


def _camel_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel_keys(k): _camel_values(v) for k, v in value.items()}
    return value


def error_info_to_v2(info: Any) -> Any:
    """The v2 ``codexErrorInfo`` of an on-disk ``codex_error_info``."""
    if info is None:
        return None
    return camel_keys(info)


_UNQUOTED = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def quote_word(word: str) -> str:
    """One shell word as Codex quotes it (the Rust ``shlex`` crate's choice).

    Unquoted when safe; else single quotes; a word holding a single quote (and no ``!``)
    goes in double quotes with ``\\ " $ ` `` escaped, where Python's ``shlex.quote`` would
    splice quotes.
    """
    if not word:
        return "''"
    if _UNQUOTED.fullmatch(word):
        return word
    if "'" not in word:
        return f"'{word}'"
    if "!" not in word:
        return '"' + re.sub(r'([\\"$`])', r"\\\1", word) + '"'
    return shlex.quote(word)


def join_command(command: list[str]) -> str:
    """Shell-join a command the way Codex shows it (``echo 'hello world'``)."""
    return " ".join(quote_word(word) for word in command)


def command_action(parsed: Any) -> CommandActionKind:
    """One v2 ``CommandAction`` from a ``parsed_cmd`` entry."""
    if not isinstance(parsed, dict):
        return UnknownAction(command=str(parsed))
    kind = parsed.get("type")
    cmd = str(parsed.get("cmd", ""))
    if kind == "read":
        return ReadAction(
            command=cmd, name=str(parsed.get("name", "")), path=str(parsed.get("path", ""))
        )
    if kind == "list_files":
        return ListFilesAction(command=cmd, path=parsed.get("path"))
    if kind == "search":
        return SearchAction(command=cmd, query=parsed.get("query"), path=parsed.get("path"))
    return UnknownAction(command=cmd)


def command_execution(event: ExecCommandEnd) -> CommandExecutionItem:
    """``exec_command_end`` -> ``commandExecution``."""
    status = event.status or ("completed" if event.exit_code == 0 else "failed")
    if status not in ("completed", "failed", "declined", "inProgress"):
        status = "failed"
    return CommandExecutionItem(
        id=event.call_id,
        command=join_command(event.command),
        cwd=event.cwd,
        status=status,  # type: ignore[arg-type]
        command_actions=[command_action(p) for p in event.parsed_cmd],
        process_id=event.process_id,
        aggregated_output=event.aggregated_output or None,
        exit_code=event.exit_code,
        duration_ms=event.duration.millis,
    )


def file_update_change(path: str, change: Any) -> FileUpdateChange:
    """One v2 file change from an on-disk ``FileChange`` value (add, delete or update)."""
    kind = change.get("type") if isinstance(change, dict) else None
    if kind == "add":
        return FileUpdateChange(path=path, kind=AddChange(), diff=str(change.get("content", "")))
    if kind == "delete":
        return FileUpdateChange(path=path, kind=DeleteChange(), diff=str(change.get("content", "")))
    data = change if isinstance(change, dict) else {}
    move_path = data.get("move_path")
    diff = str(data.get("unified_diff", ""))
    if move_path:
        diff += f"\n\nMoved to: {move_path}"
    return FileUpdateChange(path=path, kind=UpdateChange(move_path=move_path), diff=diff)


def file_change(event: PatchApplyEnd) -> FileChangeItem:
    """``patch_apply_end`` -> ``fileChange`` (changes sorted by path)."""
    status = event.status or ("completed" if event.success else "failed")
    if status not in ("completed", "failed", "declined", "inProgress"):
        status = "failed"
    changes = [file_update_change(path, event.changes[path]) for path in sorted(event.changes)]
    return FileChangeItem(id=event.call_id, changes=changes, status=status)  # type: ignore[arg-type]


def mcp_tool_call(event: McpToolCallEnd) -> McpToolCallItem:
    """``mcp_tool_call_end`` -> ``mcpToolCall``."""
    result: McpToolCallResult | None = None
    error: McpToolCallError | None = None
    outcome = event.result if isinstance(event.result, dict) else {}
    if "Ok" in outcome and isinstance(outcome["Ok"], dict):
        ok = outcome["Ok"]
        content = ok.get("content")
        result = McpToolCallResult(
            content=content if isinstance(content, list) else [],
            structured_content=ok.get("structuredContent", ok.get("structured_content")),
        )
    elif "Err" in outcome:
        error = McpToolCallError(message=str(outcome["Err"]))
    return McpToolCallItem(
        id=event.call_id,
        server=event.invocation.server,
        tool=event.invocation.tool,
        status="completed" if event.succeeded else "failed",
        arguments=event.invocation.arguments,
        result=result,
        error=error,
        duration_ms=event.duration.millis,
    )


def web_search(event: WebSearchEnd) -> WebSearchItem:
    """``web_search_end`` -> ``webSearch``."""
    return WebSearchItem(id=event.call_id, query=event.query, action=camel_keys(event.action))


def image_view(event: ViewImageToolCall) -> ImageViewItem:
    """``view_image_tool_call`` -> ``imageView``."""
    return ImageViewItem(id=event.call_id, path=event.path)


def image_generation(event: ImageGenerationEnd) -> ImageGenerationItem:
    """``image_generation_end`` -> ``imageGeneration``."""
    return ImageGenerationItem(
        id=event.call_id,
        status=event.status,
        revised_prompt=event.revised_prompt,
        result=event.result,
    )


def dynamic_tool_request(event: DynamicToolCallRequest) -> DynamicToolCallItem:
    """``dynamic_tool_call_request`` -> an ``inProgress`` ``dynamicToolCall``."""
    return DynamicToolCallItem(
        id=event.call_id, tool=event.tool, arguments=event.arguments, status="inProgress"
    )


def dynamic_tool_response(event: DynamicToolCallResponse) -> DynamicToolCallItem:
    """``dynamic_tool_call_response`` -> a finished ``dynamicToolCall``."""
    return DynamicToolCallItem(
        id=event.call_id,
        tool=event.tool,
        arguments=event.arguments,
        status="completed" if event.success else "failed",
        content_items=[content_item(i) for i in event.content_items],
        success=event.success,
        duration_ms=event.duration.millis if event.duration is not None else None,
    )


def content_item(item: DynamicToolContentItem) -> dict[str, Any]:
    """A dynamic tool content item as v2 JSON (``inputText``/``inputImage``)."""
    out: dict[str, Any] = {"type": item.type}
    if item.text is not None:
        out["text"] = item.text
    if item.image_url is not None:
        out["imageUrl"] = item.image_url
    return out


_AGENT_STATUS = {
    "pending_init": "pendingInit",
    "running": "running",
    "interrupted": "interrupted",
    "shutdown": "shutdown",
    "not_found": "notFound",
}


def agent_state(status: Any) -> CollabAgentState:
    """A v2 ``CollabAgentState`` from an on-disk ``AgentStatus``."""
    if isinstance(status, str):
        return CollabAgentState(status=_AGENT_STATUS.get(status, "errored"))  # type: ignore[arg-type]
    if isinstance(status, dict) and "completed" in status:
        message = status["completed"]
        return CollabAgentState(status="completed", message=message if message else None)
    if isinstance(status, dict) and "errored" in status:
        return CollabAgentState(status="errored", message=str(status["errored"]))
    return CollabAgentState(status="errored", message=None)


def _failed(states: dict[str, CollabAgentState]) -> bool:
    return any(s.status in ("errored", "notFound") for s in states.values())


CollabEnd = (
    CollabAgentSpawnEnd
    | CollabAgentInteractionEnd
    | CollabWaitingEnd
    | CollabCloseEnd
    | CollabResumeEnd
)


def collab_tool_call(event: CollabEnd) -> CollabAgentToolCallItem:
    """Any ``collab_*_end`` -> ``collabAgentToolCall``."""
    prompt: str | None = None
    if isinstance(event, CollabAgentSpawnEnd):
        tool = "spawnAgent"
        receivers = [event.new_thread_id] if event.new_thread_id else []
        states = {event.new_thread_id: agent_state(event.status)} if event.new_thread_id else {}
        prompt = event.prompt
        failed = not event.new_thread_id or _failed(states)
    elif isinstance(event, CollabWaitingEnd):
        tool = "wait"
        receivers = list(event.statuses)
        states = {tid: agent_state(s) for tid, s in event.statuses.items()}
        failed = _failed(states)
    else:
        tool = {
            CollabAgentInteractionEnd: "sendInput",
            CollabCloseEnd: "closeAgent",
            CollabResumeEnd: "resumeAgent",
        }[type(event)]
        receivers = [event.receiver_thread_id]
        states = {event.receiver_thread_id: agent_state(event.status)}
        if isinstance(event, CollabAgentInteractionEnd):
            prompt = event.prompt
        failed = _failed(states)
    return CollabAgentToolCallItem(
        id=event.call_id,
        tool=tool,  # type: ignore[arg-type]
        status="failed" if failed else "completed",
        sender_thread_id=event.sender_thread_id,
        receiver_thread_ids=receivers,
        agents_states=states,
        prompt=prompt,
    )


def entered_review_text(event: EnteredReviewMode) -> str:
    """The ``review`` text of ``enteredReviewMode``."""
    return event.user_facing_hint or "Review requested."


def exited_review_text(event: ExitedReviewMode) -> str:
    """The ``review`` text of ``exitedReviewMode``."""
    output = event.review_output
    text = ""
    if isinstance(output, dict):
        text = str(output.get("overall_explanation") or "").strip()
    return text or "Reviewer failed to output a response."
