"""The v2 ``ThreadItem`` kinds clients see inside a turn (camelCase JSON, ``type`` tag).

Shapes follow the app-server v2 schema of Codex 0.105.0 (the version threadlog follows),
plus what later versions added: the kinds ``dynamicToolCall`` and ``imageGeneration``, and
0.171's fields (``startedAtMs``/``completedAtMs`` on every item, ``clientId``, ``source``,
...). The added fields are always sent (null when a log does not say), as 0.171 sends them;
clients of the older protocol ignore them. A few
fields keep Codex's own snake_case spelling on the wire (``text_elements``); they are
spelled out with ``msgspec.field(name=…)`` where that happens.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

CommandExecutionStatus = Literal["inProgress", "completed", "failed", "declined"]
PatchApplyStatus = Literal["inProgress", "completed", "failed", "declined"]
McpToolCallStatus = Literal["inProgress", "completed", "failed"]
DynamicToolCallStatus = Literal["inProgress", "completed", "failed"]
CollabAgentToolCallStatus = Literal["inProgress", "completed", "failed"]
CollabAgentStatus = Literal[
    "pendingInit", "running", "interrupted", "completed", "errored", "shutdown", "notFound"
]
CollabAgentTool = Literal["spawnAgent", "sendInput", "wait", "closeAgent", "resumeAgent"]


class TextInput(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    """Text the user typed (``text_elements`` keeps Codex's snake_case spelling)."""

    text: str
    text_elements: list[Any] = []


class ImageInput(msgspec.Struct, frozen=True, tag_field="type", tag="image"):
    """An image given by URL."""

    url: str


class LocalImageInput(msgspec.Struct, frozen=True, tag_field="type", tag="localImage"):
    """An image given by local path."""

    path: str


UserInput = TextInput | ImageInput | LocalImageInput


class ThreadItem(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", rename="camel"):
    """Base of every v2 thread item (``startedAtMs``/``completedAtMs`` from 0.169+ logs)."""

    id: str
    started_at_ms: int | None = None
    completed_at_ms: int | None = None


class UserMessageItem(ThreadItem, frozen=True, tag="userMessage"):
    """What the user sent."""

    content: list[UserInput]
    client_id: str | None = None


class AgentMessageItem(ThreadItem, frozen=True, tag="agentMessage"):
    """What the agent answered."""

    text: str
    phase: str | None = None
    moderation: Any = None
    memory_citation: Any = None
    delivery: Any = None
    questions: Any = None


class PlanItem(ThreadItem, frozen=True, tag="plan"):
    """A proposed plan (from ``<proposed_plan>`` blocks)."""

    text: str


class ReasoningItem(ThreadItem, frozen=True, tag="reasoning"):
    """Reasoning summary paragraphs and raw content."""

    summary: list[str] = []
    content: list[str] = []


class CommandAction(msgspec.Struct, frozen=True, tag_field="type", rename="camel"):
    """Base of the parsed-command actions."""

    command: str


class ReadAction(CommandAction, frozen=True, tag="read"):
    """The command reads a file."""

    name: str
    path: str


class ListFilesAction(CommandAction, frozen=True, tag="listFiles"):
    """The command lists files."""

    path: str | None = None


class SearchAction(CommandAction, frozen=True, tag="search"):
    """The command searches."""

    query: str | None = None
    path: str | None = None


class UnknownAction(CommandAction, frozen=True, tag="unknown"):
    """A command we could not classify."""


CommandActionKind = ReadAction | ListFilesAction | SearchAction | UnknownAction


class CommandExecutionItem(ThreadItem, frozen=True, tag="commandExecution"):
    """A shell command the agent ran."""

    command: str
    cwd: str
    status: CommandExecutionStatus
    command_actions: list[CommandActionKind] = []
    process_id: str | None = None
    aggregated_output: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    source: str | None = None
    plugin_id: str | None = None
    script_path: str | None = None


class PatchChangeKind(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of the kinds of file change."""


class AddChange(PatchChangeKind, frozen=True, tag="add"):
    """A new file."""


class DeleteChange(PatchChangeKind, frozen=True, tag="delete"):
    """A removed file."""


class UpdateChange(PatchChangeKind, frozen=True, tag="update"):
    """An edited (maybe moved) file; ``move_path`` keeps its snake_case spelling."""

    move_path: str | None = None


class FileUpdateChange(msgspec.Struct, frozen=True):
    """One file of a patch."""

    path: str
    kind: AddChange | DeleteChange | UpdateChange
    diff: str


class FileChangeItem(ThreadItem, frozen=True, tag="fileChange"):
    """A patch the agent applied."""

    changes: list[FileUpdateChange]
    status: PatchApplyStatus


class McpToolCallResult(msgspec.Struct, frozen=True, rename="camel"):
    """What an MCP tool returned."""

    content: list[Any]
    structured_content: Any = None


class McpToolCallError(msgspec.Struct, frozen=True):
    """Why an MCP tool call failed."""

    message: str


class McpToolCallItem(ThreadItem, frozen=True, tag="mcpToolCall"):
    """A call to an MCP server's tool."""

    server: str
    tool: str
    status: McpToolCallStatus
    arguments: Any = None
    result: McpToolCallResult | None = None
    error: McpToolCallError | None = None
    duration_ms: int | None = None


class DynamicToolCallItem(ThreadItem, frozen=True, tag="dynamicToolCall"):
    """A call to a client-side (dynamic) tool."""

    tool: str
    arguments: Any
    status: DynamicToolCallStatus
    content_items: list[Any] | None = None
    success: bool | None = None
    duration_ms: int | None = None


class CollabAgentState(msgspec.Struct, frozen=True):
    """The last known state of a collaborating agent."""

    status: CollabAgentStatus
    message: str | None = None


class CollabAgentToolCallItem(ThreadItem, frozen=True, tag="collabAgentToolCall"):
    """A call that spawns, messages, waits for, closes or resumes sub-agents."""

    tool: CollabAgentTool
    status: CollabAgentToolCallStatus
    sender_thread_id: str
    receiver_thread_ids: list[str]
    agents_states: dict[str, CollabAgentState]
    prompt: str | None = None


class WebSearchItem(ThreadItem, frozen=True, tag="webSearch"):
    """A web search."""

    query: str
    action: Any = None


class ImageViewItem(ThreadItem, frozen=True, tag="imageView"):
    """A local image the agent viewed."""

    path: str


class ImageGenerationItem(ThreadItem, frozen=True, tag="imageGeneration"):
    """A generated image."""

    status: str
    revised_prompt: str | None = None
    result: str = ""


class EnteredReviewModeItem(ThreadItem, frozen=True, tag="enteredReviewMode"):
    """A review started."""

    review: str


class ExitedReviewModeItem(ThreadItem, frozen=True, tag="exitedReviewMode"):
    """A review ended."""

    review: str


class ContextCompactionItem(ThreadItem, frozen=True, tag="contextCompaction"):
    """The model context was compacted."""


ThreadItemKind = (
    UserMessageItem
    | AgentMessageItem
    | PlanItem
    | ReasoningItem
    | CommandExecutionItem
    | FileChangeItem
    | McpToolCallItem
    | DynamicToolCallItem
    | CollabAgentToolCallItem
    | WebSearchItem
    | ImageViewItem
    | ImageGenerationItem
    | EnteredReviewModeItem
    | ExitedReviewModeItem
    | ContextCompactionItem
)
"""Every v2 thread item kind."""
