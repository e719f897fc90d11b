"""The one table of event kinds: what each ``event_msg`` means to the log and to the fold.

For every modelled ``event_msg`` class (Codex sections 3 and 4), one row says

* ``keep``: which persistence mode writes it (``always``, ``extended`` only, ``never``, or
  ``plan`` for ``item_completed``, which is written only when it carries a Plan item);
* ``fold``: which transition of the history fold it drives (None: the fold ignores it);
* ``item``: for tool and review events, the v2 ``ThreadItem`` it becomes;
* ``route``: where such an item lands: ``own`` (the turn its ``turn_id`` names, even after
  that turn closed, else the open turn) or ``open`` (the open turn, implicit if none).

The persistence policy, the history fold and the live item announcements all read this
table, so a kind cannot be persisted by one list and folded by another. Aliases
(``turn_started`` for ``task_started``) inherit their base's row. A test checks that every
class in ``EVENT_MSG_TYPES`` has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, NamedTuple

from threadlog.events.codec import EVENT_MSG_TYPES
from threadlog.events.event_msgs import (
    AgentMessage,
    AgentMessageContentDelta,
    AgentMessageDelta,
    AgentReasoning,
    AgentReasoningDelta,
    AgentReasoningRawContent,
    AgentReasoningRawContentDelta,
    AgentReasoningSectionBreak,
    BackgroundEvent,
    ContextCompacted,
    DeprecationNotice,
    EnteredReviewMode,
    ErrorEvent,
    EventMsg,
    ExitedReviewMode,
    ItemCompleted,
    ItemStarted,
    ModelReroute,
    PlanDelta,
    PlanUpdate,
    RealtimeConversationClosed,
    RealtimeConversationRealtime,
    RealtimeConversationSdp,
    RealtimeConversationStarted,
    ReasoningContentDelta,
    ReasoningRawContentDelta,
    SessionConfigured,
    ShutdownComplete,
    StreamError,
    TaskComplete,
    TaskStarted,
    ThreadNameUpdated,
    ThreadRolledBack,
    ThreadSettingsApplied,
    TokenCount,
    TurnAborted,
    TurnDiff,
    UndoCompleted,
    UndoStarted,
    UserMessage,
    WarningEvent,
)
from threadlog.events.thread_items import ThreadItemKind
from threadlog.events.tool_events import (
    ApplyPatchApprovalRequest,
    CollabAgentInteractionBegin,
    CollabAgentInteractionEnd,
    CollabAgentSpawnBegin,
    CollabAgentSpawnEnd,
    CollabCloseBegin,
    CollabCloseEnd,
    CollabResumeBegin,
    CollabResumeEnd,
    CollabWaitingBegin,
    CollabWaitingEnd,
    DynamicToolCallRequest,
    DynamicToolCallResponse,
    ExecApprovalRequest,
    ExecCommandBegin,
    ExecCommandEnd,
    ExecCommandOutputDelta,
    ImageGenerationBegin,
    ImageGenerationEnd,
    McpToolCallBegin,
    McpToolCallEnd,
    PatchApplyBegin,
    PatchApplyEnd,
    ViewImageToolCall,
    WebSearchBegin,
    WebSearchEnd,
)
from threadlog.projections import item_mapping as im

Keep = Literal["always", "extended", "plan", "never"]
Route = Literal["own", "open"]
Fold = Literal[
    "task_started",
    "task_complete",
    "turn_aborted",
    "user_message",
    "agent_message",
    "reasoning",
    "reasoning_raw",
    "item_completed",
    "context_compacted",
    "entered_review",
    "exited_review",
    "error",
    "rolled_back",
    "tool_item",
]


class EventKind(NamedTuple):
    """One row of the table."""

    keep: Keep
    fold: Fold | None = None
    item: Callable[[Any], ThreadItemKind] | None = None
    route: Route | None = None


def _tool(item: Callable[[Any], ThreadItemKind], keep: Keep, route: Route) -> EventKind:
    return EventKind(keep, "tool_item", item, route)


_IGNORED: Final = EventKind("never")

EVENT_KINDS: Final[dict[type[EventMsg], EventKind]] = {
    # turns
    TaskStarted: EventKind("always", "task_started"),
    TaskComplete: EventKind("always", "task_complete"),
    TurnAborted: EventKind("always", "turn_aborted"),
    ThreadRolledBack: EventKind("always", "rolled_back"),
    ErrorEvent: EventKind("extended", "error"),
    # messages
    UserMessage: EventKind("always", "user_message"),
    AgentMessage: EventKind("always", "agent_message"),
    AgentReasoning: EventKind("always", "reasoning"),
    AgentReasoningRawContent: EventKind("always", "reasoning_raw"),
    ItemCompleted: EventKind("plan", "item_completed"),
    # markers
    ContextCompacted: EventKind("always", "context_compacted"),
    EnteredReviewMode: EventKind("always", "entered_review"),
    ExitedReviewMode: EventKind("always", "exited_review"),
    # thread facts the metadata fold reads
    TokenCount: EventKind("always"),
    ThreadNameUpdated: EventKind("always"),
    # 0.169+ writes it; read only (our runtime, which follows 0.105's persistence, never
    # emits it), so the seed-era lists stay exact
    ThreadSettingsApplied: EventKind("never"),
    UndoCompleted: EventKind("always"),
    # tool calls, by how they end
    ExecCommandEnd: _tool(im.command_execution, "extended", "own"),
    PatchApplyEnd: _tool(im.file_change, "extended", "own"),
    DynamicToolCallRequest: _tool(im.dynamic_tool_request, "extended", "own"),
    DynamicToolCallResponse: _tool(im.dynamic_tool_response, "extended", "own"),
    McpToolCallEnd: _tool(im.mcp_tool_call, "extended", "open"),
    WebSearchEnd: _tool(im.web_search, "extended", "open"),
    ViewImageToolCall: _tool(im.image_view, "extended", "open"),
    ImageGenerationEnd: _tool(im.image_generation, "always", "open"),
    CollabAgentSpawnEnd: _tool(im.collab_tool_call, "extended", "open"),
    CollabAgentInteractionEnd: _tool(im.collab_tool_call, "extended", "open"),
    CollabWaitingEnd: _tool(im.collab_tool_call, "extended", "open"),
    CollabCloseEnd: _tool(im.collab_tool_call, "extended", "open"),
    CollabResumeEnd: _tool(im.collab_tool_call, "extended", "open"),
    # live only: streaming, begins, approvals, session chatter (never written)
    **{
        kind: _IGNORED
        for kind in (
            AgentMessageDelta,
            AgentMessageContentDelta,
            AgentReasoningDelta,
            AgentReasoningRawContentDelta,
            AgentReasoningSectionBreak,
            ReasoningContentDelta,
            ReasoningRawContentDelta,
            PlanDelta,
            PlanUpdate,
            ItemStarted,
            TurnDiff,
            ModelReroute,
            WarningEvent,
            StreamError,
            BackgroundEvent,
            DeprecationNotice,
            SessionConfigured,
            ShutdownComplete,
            UndoStarted,
            RealtimeConversationStarted,
            RealtimeConversationRealtime,
            RealtimeConversationSdp,
            RealtimeConversationClosed,
            ExecCommandBegin,
            ExecCommandOutputDelta,
            PatchApplyBegin,
            McpToolCallBegin,
            WebSearchBegin,
            ImageGenerationBegin,
            CollabAgentSpawnBegin,
            CollabAgentInteractionBegin,
            CollabWaitingBegin,
            CollabCloseBegin,
            CollabResumeBegin,
            ExecApprovalRequest,
            ApplyPatchApprovalRequest,
        )
    },
}

_RESOLVED: dict[type, EventKind | None] = {}


def kind_of(cls: type) -> EventKind | None:
    """The row of an event class: its own, or its nearest modelled base's (aliases)."""
    if cls not in _RESOLVED:
        _RESOLVED[cls] = next(
            (row for base in cls.__mro__ if (row := EVENT_KINDS.get(base)) is not None), None
        )
    return _RESOLVED[cls]


def unregistered() -> list[type[EventMsg]]:
    """Modelled event classes without a row (must be empty; a test says so)."""
    return [cls for cls in EVENT_MSG_TYPES if kind_of(cls) is None]
