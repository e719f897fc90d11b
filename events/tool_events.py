"""``event_msg`` payloads about tool calls: commands, patches, MCP, web search, images,
dynamic (client-side) tools, collaborating agents and approvals.

Only the ``*_end`` events (and the dynamic tool request/response pair) are persisted, and
only in extended mode; the ``*_begin`` events exist for live notifications. Each carries the
``call_id`` that becomes the ThreadItem id. ``dynamic_tool_call_request`` is camelCase on
disk (Codex reuses its camelCase ``DynamicToolCallRequest`` struct for it) while the
response event is snake_case: both spellings are as the real Codex writes them.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from threadlog.events.event_msgs import EventMsg

EXEC_COMMAND_STATUSES: Final = ("completed", "failed", "declined")
EXEC_COMMAND_SOURCES: Final = (
    "agent",
    "user_shell",
    "unified_exec_startup",
    "unified_exec_interaction",
)


class Duration(msgspec.Struct, frozen=True):
    """A Rust ``std::time::Duration`` as serde writes it."""

    secs: int = 0
    nanos: int = 0

    @property
    def millis(self) -> int:
        """Whole milliseconds."""
        return self.secs * 1000 + self.nanos // 1_000_000

    @classmethod
    def from_millis(cls, millis: int) -> Duration:
        """Build from milliseconds."""
        return cls(secs=millis // 1000, nanos=(millis % 1000) * 1_000_000)


class ExecCommandBegin(EventMsg, frozen=True, tag="exec_command_begin"):
    """A command started."""

    call_id: str
    command: list[str]
    cwd: str = ""
    turn_id: str = ""
    process_id: str | None = None
    parsed_cmd: list[Any] = []
    source: str = "agent"
    interaction_input: str | None = None


class ExecCommandOutputDelta(EventMsg, frozen=True, tag="exec_command_output_delta"):
    """A chunk of a running command's output (never persisted)."""

    call_id: str
    stream: str
    chunk: str


class ExecCommandEnd(EventMsg, frozen=True, tag="exec_command_end"):
    """A command finished, with its output, exit code and duration."""

    call_id: str
    command: list[str]
    cwd: str = ""
    turn_id: str = ""
    process_id: str | None = None
    parsed_cmd: list[Any] = []
    source: str = "agent"
    interaction_input: str | None = None
    stdout: str = ""
    stderr: str = ""
    aggregated_output: str = ""
    exit_code: int = 0
    duration: Duration = Duration()
    formatted_output: str = ""
    status: str | None = None


class PatchApplyBegin(EventMsg, frozen=True, tag="patch_apply_begin"):
    """A patch is about to be applied."""

    call_id: str
    changes: dict[str, Any] = {}
    turn_id: str = ""
    auto_approved: bool = False


class PatchApplyEnd(EventMsg, frozen=True, tag="patch_apply_end"):
    """A patch was applied (or failed, or was declined)."""

    call_id: str
    stdout: str = ""
    stderr: str = ""
    success: bool = False
    changes: dict[str, Any] = {}
    turn_id: str = ""
    status: str | None = None


class McpInvocation(msgspec.Struct, frozen=True):
    """Which MCP server and tool were called, with what arguments."""

    server: str
    tool: str
    arguments: Any = None


class McpToolCallBegin(EventMsg, frozen=True, tag="mcp_tool_call_begin"):
    """An MCP tool call started."""

    call_id: str
    invocation: McpInvocation
    mcp_app_resource_uri: str | None = None


class McpToolCallEnd(EventMsg, frozen=True, tag="mcp_tool_call_end"):
    """An MCP tool call finished; ``result`` is ``{"Ok": …}`` or ``{"Err": "…"}``."""

    call_id: str
    invocation: McpInvocation
    duration: Duration = Duration()
    result: Any = None
    mcp_app_resource_uri: str | None = None

    @property
    def succeeded(self) -> bool:
        """``Ok`` and not ``is_error``."""
        ok = self.result.get("Ok") if isinstance(self.result, dict) else None
        return isinstance(ok, dict) and not ok.get("isError", ok.get("is_error", False))


class WebSearchBegin(EventMsg, frozen=True, tag="web_search_begin"):
    """A web search started."""

    call_id: str


class WebSearchEnd(EventMsg, frozen=True, tag="web_search_end"):
    """A web search finished."""

    call_id: str
    query: str = ""
    action: Any = None


class ImageGenerationBegin(EventMsg, frozen=True, tag="image_generation_begin"):
    """An image generation started."""

    call_id: str


class ImageGenerationEnd(EventMsg, frozen=True, tag="image_generation_end"):
    """An image generation finished."""

    call_id: str
    status: str = ""
    revised_prompt: str | None = None
    result: str = ""
    saved_path: str | None = None


class ViewImageToolCall(EventMsg, frozen=True, tag="view_image_tool_call"):
    """The agent looked at a local image."""

    call_id: str
    path: str


class DynamicToolCallRequest(
    EventMsg, frozen=True, tag="dynamic_tool_call_request", rename="camel"
):
    """The model called a client-side tool (camelCase on disk, as Codex writes it)."""

    call_id: str
    turn_id: str
    tool: str
    arguments: Any = None
    namespace: str | None = None


class DynamicToolContentItem(msgspec.Struct, frozen=True, rename="camel"):
    """One content part of a dynamic tool's answer (``inputText`` or ``inputImage``)."""

    type: str
    text: str | None = None
    image_url: str | None = None


class DynamicToolCallResponse(EventMsg, frozen=True, tag="dynamic_tool_call_response"):
    """The host answered a dynamic tool call."""

    call_id: str
    turn_id: str
    tool: str
    arguments: Any = None
    content_items: list[DynamicToolContentItem] = []
    success: bool = False
    error: str | None = None
    duration: Duration | None = None
    namespace: str | None = None


class CollabAgentSpawnBegin(EventMsg, frozen=True, tag="collab_agent_spawn_begin"):
    """A sub-agent is being spawned."""

    call_id: str
    sender_thread_id: str
    prompt: str = ""


class CollabAgentSpawnEnd(EventMsg, frozen=True, tag="collab_agent_spawn_end"):
    """A sub-agent was spawned (or failed to be)."""

    call_id: str
    sender_thread_id: str
    prompt: str = ""
    status: Any = None
    new_thread_id: str | None = None
    new_agent_nickname: str | None = None
    new_agent_role: str | None = None
    model: str | None = None
    reasoning_effort: str | None = None


class CollabAgentInteractionBegin(EventMsg, frozen=True, tag="collab_agent_interaction_begin"):
    """Input is being sent to a sub-agent."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str
    prompt: str = ""


class CollabAgentInteractionEnd(EventMsg, frozen=True, tag="collab_agent_interaction_end"):
    """Input was sent to a sub-agent."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str
    prompt: str = ""
    status: Any = None
    receiver_agent_nickname: str | None = None
    receiver_agent_role: str | None = None


class CollabWaitingBegin(EventMsg, frozen=True, tag="collab_waiting_begin"):
    """The agent started waiting for sub-agents."""

    call_id: str
    sender_thread_id: str
    receiver_thread_ids: list[str] = []


class CollabWaitingEnd(EventMsg, frozen=True, tag="collab_waiting_end"):
    """The wait for sub-agents ended; ``statuses`` maps thread id to status."""

    call_id: str
    sender_thread_id: str
    statuses: dict[str, Any] = {}


class CollabCloseBegin(EventMsg, frozen=True, tag="collab_close_begin"):
    """A sub-agent is being closed."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str


class CollabCloseEnd(EventMsg, frozen=True, tag="collab_close_end"):
    """A sub-agent was closed."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str
    status: Any = None
    receiver_agent_nickname: str | None = None
    receiver_agent_role: str | None = None


class CollabResumeBegin(EventMsg, frozen=True, tag="collab_resume_begin"):
    """A sub-agent is being resumed."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str


class CollabResumeEnd(EventMsg, frozen=True, tag="collab_resume_end"):
    """A sub-agent was resumed."""

    call_id: str
    sender_thread_id: str
    receiver_thread_id: str
    status: Any = None
    receiver_agent_nickname: str | None = None
    receiver_agent_role: str | None = None


class ExecApprovalRequest(EventMsg, frozen=True, tag="exec_approval_request"):
    """The agent asks to run a command (never persisted)."""

    call_id: str
    command: list[str]
    cwd: str = ""
    turn_id: str = ""
    reason: str | None = None
    parsed_cmd: list[Any] = []


class ApplyPatchApprovalRequest(EventMsg, frozen=True, tag="apply_patch_approval_request"):
    """The agent asks to apply a patch (never persisted)."""

    call_id: str
    changes: dict[str, Any] = {}
    turn_id: str = ""
    reason: str | None = None
    grant_root: str | None = None


TOOL_EVENT_TYPES: tuple[type[EventMsg], ...] = (
    ExecCommandBegin,
    ExecCommandOutputDelta,
    ExecCommandEnd,
    PatchApplyBegin,
    PatchApplyEnd,
    McpToolCallBegin,
    McpToolCallEnd,
    WebSearchBegin,
    WebSearchEnd,
    ImageGenerationBegin,
    ImageGenerationEnd,
    ViewImageToolCall,
    DynamicToolCallRequest,
    DynamicToolCallResponse,
    CollabAgentSpawnBegin,
    CollabAgentSpawnEnd,
    CollabAgentInteractionBegin,
    CollabAgentInteractionEnd,
    CollabWaitingBegin,
    CollabWaitingEnd,
    CollabCloseBegin,
    CollabCloseEnd,
    CollabResumeBegin,
    CollabResumeEnd,
    ExecApprovalRequest,
    ApplyPatchApprovalRequest,
)
"""The tool-call events, for building decoders and strategies."""
