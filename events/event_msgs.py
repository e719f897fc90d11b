"""``event_msg`` payloads about turns, messages, and the thread itself.

Tagged by ``type`` in snake_case exactly as Codex writes them. Codex writes turn starts as
``task_started`` and reads ``turn_started`` too (likewise ``task_complete`` /
``turn_complete``); the second spellings are subclasses here, so ``isinstance(x,
TaskStarted)`` covers both. Tool events live in ``events.tool_events``.

Fields that later Codex versions added are optional. String-valued enums stay ``str`` on
read: a new value from a newer Codex must not make the line unreadable.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec


class EventMsg(msgspec.Struct, frozen=True, tag_field="type", gc=False):
    """Base of every modelled ``event_msg`` payload.

    ``gc=False``: these immutable values never form reference cycles, and a loaded thread may
    hold hundreds of thousands of them, so keeping them out of the cycle collector's scans
    saves real time.
    """


TURN_ABORT_REASONS: Final = ("interrupted", "replaced", "review_ended")
MESSAGE_PHASES: Final = ("commentary", "final_answer")


class TaskStarted(EventMsg, frozen=True, tag="task_started"):
    """A turn began (written as ``task_started``)."""

    turn_id: str
    started_at: int | None = None
    model_context_window: int | None = None
    collaboration_mode_kind: str | None = None
    root_turn_id: str | None = None


class TurnStartedAlias(TaskStarted, frozen=True, tag="turn_started"):
    """The ``turn_started`` spelling of ``task_started``, accepted on read."""


class TaskComplete(EventMsg, frozen=True, tag="task_complete"):
    """A turn finished (written as ``task_complete``)."""

    turn_id: str
    last_agent_message: str | None = None
    completed_at: int | None = None
    duration_ms: int | None = None
    root_turn_id: str | None = None
    started_at: int | None = None
    time_to_first_token_ms: int | None = None
    # 0.169+: a failed turn carries its error here ({message, codex_error_info}) instead of
    # a separate ``error`` event.
    error: Any = None


class TurnCompleteAlias(TaskComplete, frozen=True, tag="turn_complete"):
    """The ``turn_complete`` spelling of ``task_complete``, accepted on read."""


class TurnAborted(EventMsg, frozen=True, tag="turn_aborted"):
    """A turn was interrupted, replaced, or its review ended."""

    reason: str
    turn_id: str | None = None
    completed_at: int | None = None
    duration_ms: int | None = None


class UserMessage(EventMsg, frozen=True, tag="user_message"):
    """What the user typed, with attached images."""

    message: str
    images: list[str] | None = None
    local_images: list[str] = []
    text_elements: list[Any] = []
    client_id: str | None = None


class AgentMessage(EventMsg, frozen=True, tag="agent_message"):
    """A complete assistant message."""

    message: str
    phase: str | None = None
    memory_citation: Any = None


class AgentReasoning(EventMsg, frozen=True, tag="agent_reasoning"):
    """A reasoning summary paragraph."""

    text: str


class AgentReasoningRawContent(EventMsg, frozen=True, tag="agent_reasoning_raw_content"):
    """Raw reasoning text."""

    text: str


class AgentReasoningSectionBreak(EventMsg, frozen=True, tag="agent_reasoning_section_break"):
    """A break between reasoning summary sections (live only)."""

    item_id: str | None = None
    summary_index: int | None = None


class TokenUsage(msgspec.Struct, frozen=True):
    """Token counts of one request or of the whole thread."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0


class TokenUsageInfo(msgspec.Struct, frozen=True):
    """Running totals carried by ``token_count``."""

    total_token_usage: TokenUsage = TokenUsage()
    last_token_usage: TokenUsage = TokenUsage()
    model_context_window: int | None = None


class TokenCount(EventMsg, frozen=True, tag="token_count"):
    """Token usage after a model request, and rate limits."""

    info: TokenUsageInfo | None = None
    rate_limits: Any = None


class ContextCompacted(EventMsg, frozen=True, tag="context_compacted"):
    """The model context was compacted (adds a ``contextCompaction`` item)."""


class ThreadNameUpdated(EventMsg, frozen=True, tag="thread_name_updated"):
    """The thread was renamed."""

    thread_id: str
    thread_name: str | None = None


class ThreadSettingsApplied(EventMsg, frozen=True, tag="thread_settings_applied"):
    """0.169+: the settings a thread runs with from here on (model, provider, cwd, policies)."""

    thread_id: str | None = None
    thread_settings: Any = None


class ThreadRolledBack(EventMsg, frozen=True, tag="thread_rolled_back"):
    """The last ``num_turns`` turns were dropped."""

    num_turns: int


class UndoStarted(EventMsg, frozen=True, tag="undo_started"):
    """An undo began (live only)."""

    message: str | None = None


class UndoCompleted(EventMsg, frozen=True, tag="undo_completed"):
    """An undo finished; changes no turn."""

    success: bool
    message: str | None = None


class ErrorEvent(EventMsg, frozen=True, tag="error"):
    """A turn-level error; ``codex_error_info`` says which kind."""

    message: str
    codex_error_info: Any = None


class WarningEvent(EventMsg, frozen=True, tag="warning"):
    """A warning for the user (never persisted)."""

    message: str


class StreamError(EventMsg, frozen=True, tag="stream_error"):
    """A transient model-stream error that will be retried (never persisted)."""

    message: str
    codex_error_info: Any = None
    additional_details: str | None = None


class BackgroundEvent(EventMsg, frozen=True, tag="background_event"):
    """Informational background message (never persisted)."""

    message: str


class DeprecationNotice(EventMsg, frozen=True, tag="deprecation_notice"):
    """A deprecated feature was used (never persisted)."""

    summary: str
    details: str | None = None


class SessionConfigured(EventMsg, frozen=True, tag="session_configured"):
    """The session is ready (never persisted)."""

    session_id: str
    model: str = ""
    model_provider_id: str = ""
    approval_policy: Any = None
    sandbox_policy: Any = None
    cwd: str = ""
    reasoning_effort: str | None = None
    history_log_id: int = 0
    history_entry_count: int = 0
    initial_messages: list[Any] | None = None
    rollout_path: str | None = None
    forked_from_id: str | None = None
    thread_name: str | None = None


class ShutdownComplete(EventMsg, frozen=True, tag="shutdown_complete"):
    """The session shut down (never persisted)."""


class PlanUpdate(EventMsg, frozen=True, tag="plan_update"):
    """The agent's step plan changed (never persisted)."""

    plan: list[Any] = []
    explanation: str | None = None


class TurnDiff(EventMsg, frozen=True, tag="turn_diff"):
    """The turn's aggregated diff (never persisted)."""

    unified_diff: str


class ModelReroute(EventMsg, frozen=True, tag="model_reroute"):
    """The request was routed to another model (never persisted)."""

    from_model: str
    to_model: str
    reason: str


class ItemStarted(EventMsg, frozen=True, tag="item_started"):
    """A turn item started; ``item`` is a ``TurnItem`` (PascalCase ``type``)."""

    thread_id: str
    turn_id: str
    item: Any


class ItemCompleted(EventMsg, frozen=True, tag="item_completed"):
    """A turn item completed. Up to 0.105 persisted only for ``Plan`` items; since 0.169
    every completed item of a turn is recorded this way, with its timings."""

    thread_id: str
    turn_id: str
    item: Any
    started_at_ms: int | None = None
    completed_at_ms: int | None = None


class PlanTurnItem(msgspec.Struct, frozen=True, tag_field="type", tag="Plan"):
    """The ``Plan`` TurnItem carried by ``item_completed``."""

    id: str
    text: str


def plan_item_of(event: ItemStarted | ItemCompleted) -> PlanTurnItem | None:
    """The ``Plan`` item an item event carries, if it carries one."""
    item = event.item
    if not isinstance(item, dict) or item.get("type") != "Plan":
        return None
    item_id, text = item.get("id"), item.get("text")
    if not isinstance(item_id, str) or not isinstance(text, str):
        return None
    return PlanTurnItem(id=item_id, text=text)


def user_message_of(event: ItemCompleted) -> UserMessage | None:
    """A 0.169+ ``UserMessage`` TurnItem as the ``user_message`` event earlier eras wrote.

    Only what previews and titles read is carried: the text parts joined, and the images.
    """
    item = event.item
    if not isinstance(item, dict) or item.get("type") != "UserMessage":
        return None
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    text = "".join(
        p["text"]
        for p in parts
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )
    images = [p for p in parts if isinstance(p, dict) and p.get("type") == "image"]
    local = [p for p in parts if isinstance(p, dict) and p.get("type") == "local_image"]
    return UserMessage(
        message=text,
        images=["image"] * len(images) or None,
        local_images=["image"] * len(local),
    )


class AgentMessageDelta(EventMsg, frozen=True, tag="agent_message_delta"):
    """A streamed piece of assistant text (legacy delta, never persisted)."""

    delta: str


class AgentReasoningDelta(EventMsg, frozen=True, tag="agent_reasoning_delta"):
    """A streamed piece of reasoning summary (never persisted)."""

    delta: str


class AgentReasoningRawContentDelta(EventMsg, frozen=True, tag="agent_reasoning_raw_content_delta"):
    """A streamed piece of raw reasoning (never persisted)."""

    delta: str


class AgentMessageContentDelta(EventMsg, frozen=True, tag="agent_message_content_delta"):
    """A streamed piece of an agent message item (never persisted)."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str


class PlanDelta(EventMsg, frozen=True, tag="plan_delta"):
    """A streamed piece of a proposed plan (never persisted)."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str


class ReasoningContentDelta(EventMsg, frozen=True, tag="reasoning_content_delta"):
    """A streamed piece of a reasoning summary item (never persisted)."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str
    summary_index: int = 0


class ReasoningRawContentDelta(EventMsg, frozen=True, tag="reasoning_raw_content_delta"):
    """A streamed piece of raw reasoning content (never persisted)."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str
    content_index: int = 0


class EnteredReviewMode(EventMsg, frozen=True, tag="entered_review_mode"):
    """A review started; ``target`` says what is reviewed."""

    target: Any = None
    user_facing_hint: str | None = None


class ExitedReviewMode(EventMsg, frozen=True, tag="exited_review_mode"):
    """A review ended, with its findings (or null when the reviewer failed)."""

    review_output: Any = None


class RealtimeConversationStarted(EventMsg, frozen=True, tag="realtime_conversation_started"):
    """A realtime session started (never persisted)."""

    session_id: str | None = None


class RealtimeConversationRealtime(EventMsg, frozen=True, tag="realtime_conversation_realtime"):
    """An event from the realtime transport (never persisted)."""

    payload: Any = None


class RealtimeConversationSdp(EventMsg, frozen=True, tag="realtime_conversation_sdp"):
    """The SDP answer of a WebRTC realtime session (never persisted)."""

    sdp: str


class RealtimeConversationClosed(EventMsg, frozen=True, tag="realtime_conversation_closed"):
    """A realtime session closed: ``requested``, ``transport_closed`` or ``error``."""

    reason: str | None = None


CORE_EVENT_TYPES: tuple[type[EventMsg], ...] = (
    ThreadSettingsApplied,
    TaskStarted,
    TurnStartedAlias,
    TaskComplete,
    TurnCompleteAlias,
    TurnAborted,
    UserMessage,
    AgentMessage,
    AgentReasoning,
    AgentReasoningRawContent,
    AgentReasoningSectionBreak,
    TokenCount,
    ContextCompacted,
    ThreadNameUpdated,
    ThreadRolledBack,
    UndoStarted,
    UndoCompleted,
    ErrorEvent,
    WarningEvent,
    StreamError,
    BackgroundEvent,
    DeprecationNotice,
    SessionConfigured,
    ShutdownComplete,
    PlanUpdate,
    TurnDiff,
    ModelReroute,
    ItemStarted,
    ItemCompleted,
    AgentMessageDelta,
    AgentReasoningDelta,
    AgentReasoningRawContentDelta,
    AgentMessageContentDelta,
    PlanDelta,
    ReasoningContentDelta,
    ReasoningRawContentDelta,
    EnteredReviewMode,
    ExitedReviewMode,
    RealtimeConversationStarted,
    RealtimeConversationRealtime,
    RealtimeConversationSdp,
    RealtimeConversationClosed,
)
"""The turn, message and thread events, for building decoders and strategies."""
