"""What the runtime tells hosts: app-server v2 notifications (method + camelCase params).

Item notifications are derived from the changes the history fold reports, so a host sees
exactly the items a later read of the log shows (with the same ids); streaming deltas and
errors are transient and have no item of their own.
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadlog.events.thread_items import (
    AgentMessageItem,
    CommandExecutionItem,
    DynamicToolCallItem,
    FileChangeItem,
    ThreadItemKind,
)
from threadlog.events.views import Thread, ThreadStatus, Turn, TurnError


class Notification(msgspec.Struct, frozen=True):
    """One notification: a JSON-RPC method name and its params."""

    method: str
    params: Any

    @property
    def thread_id(self) -> str | None:
        """The thread it is about, when it is about one."""
        params = self.params
        if isinstance(params, dict):
            value = params.get("threadId")
            if isinstance(value, str):
                return value
            thread = params.get("thread")
            if isinstance(thread, Thread):
                return thread.id
        return None


def thread_started(thread: Thread) -> Notification:
    """``thread/started``."""
    return Notification("thread/started", {"thread": thread})


def turn_started(thread_id: str, turn: Turn) -> Notification:
    """``turn/started`` (the turn without items, as the v2 protocol sends it)."""
    return Notification("turn/started", {"threadId": thread_id, "turn": _bare(turn)})


def turn_completed(thread_id: str, turn: Turn) -> Notification:
    """``turn/completed``: as 0.171 sends it, with the turn's final answer as its summary
    (clients such as ``codex exec`` print it); a turn without one carries no items."""
    answer = next((i for i in reversed(turn.items) if isinstance(i, AgentMessageItem)), None)
    ended = msgspec.structs.replace(
        _bare(turn),
        items=[answer] if answer is not None else [],
        items_view="summary" if answer is not None else "notLoaded",
    )
    return Notification("turn/completed", {"threadId": thread_id, "turn": ended})


def _bare(turn: Turn) -> Turn:
    return Turn(
        id=turn.id,
        items=[],
        status=turn.status,
        error=turn.error,
        root_turn_id=turn.root_turn_id or turn.id,
        items_view="notLoaded",
        started_at=turn.started_at,
        completed_at=turn.completed_at,
        duration_ms=turn.duration_ms,
    )


def item_started(
    thread_id: str, turn_id: str, item: ThreadItemKind, started_at_ms: int
) -> Notification:
    """``item/started``, stamped as 0.171 stamps it (the item's own time when it has one)."""
    started = item.started_at_ms if item.started_at_ms is not None else started_at_ms
    item = msgspec.structs.replace(item, started_at_ms=started, completed_at_ms=None)
    return Notification(
        "item/started",
        {"item": item, "threadId": thread_id, "turnId": turn_id, "startedAtMs": started},
    )


def item_completed(
    thread_id: str,
    turn_id: str,
    item: ThreadItemKind,
    started_at_ms: int,
    completed_at_ms: int,
) -> Notification:
    """``item/completed``, stamped with when the item started and ended."""
    started = item.started_at_ms if item.started_at_ms is not None else started_at_ms
    completed = item.completed_at_ms if item.completed_at_ms is not None else completed_at_ms
    item = msgspec.structs.replace(item, started_at_ms=started, completed_at_ms=completed)
    return Notification(
        "item/completed",
        {
            "item": item,
            "threadId": thread_id,
            "turnId": turn_id,
            "completedAtMs": completed,
            "contentTokenCount": None,  # telemetry threadlog has no source for
        },
    )


def agent_message_delta(thread_id: str, turn_id: str, item_id: str, delta: str) -> Notification:
    """``item/agentMessage/delta``."""
    return Notification(
        "item/agentMessage/delta",
        {"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta},
    )


def plan_delta(thread_id: str, turn_id: str, item_id: str, delta: str) -> Notification:
    """``item/plan/delta``."""
    return Notification(
        "item/plan/delta",
        {"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta},
    )


def command_output_delta(thread_id: str, turn_id: str, item_id: str, delta: str) -> Notification:
    """``item/commandExecution/outputDelta``."""
    return Notification(
        "item/commandExecution/outputDelta",
        {"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta},
    )


def reasoning_summary_part_added(
    thread_id: str, turn_id: str, item_id: str, summary_index: int
) -> Notification:
    """``item/reasoning/summaryPartAdded``: a new summary paragraph begins."""
    return Notification(
        "item/reasoning/summaryPartAdded",
        {
            "threadId": thread_id,
            "turnId": turn_id,
            "itemId": item_id,
            "summaryIndex": summary_index,
        },
    )


def reasoning_summary_text_delta(
    thread_id: str, turn_id: str, item_id: str, summary_index: int, delta: str
) -> Notification:
    """``item/reasoning/summaryTextDelta``: text of a summary paragraph."""
    return Notification(
        "item/reasoning/summaryTextDelta",
        {
            "threadId": thread_id,
            "turnId": turn_id,
            "itemId": item_id,
            "delta": delta,
            "summaryIndex": summary_index,
        },
    )


def token_usage_updated(
    thread_id: str, turn_id: str, total: Any, last: Any, context_window: int | None
) -> Notification:
    """``thread/tokenUsage/updated``: the thread's totals and the last request's usage
    (``total``/``last`` are ``TokenUsage`` values, sent in the v2 breakdown's names)."""
    return Notification(
        "thread/tokenUsage/updated",
        {
            "threadId": thread_id,
            "turnId": turn_id,
            "tokenUsage": {
                "total": _breakdown(total),
                "last": _breakdown(last),
                "modelContextWindow": context_window,
            },
        },
    )


def _breakdown(usage: Any) -> dict[str, int]:
    return {
        "totalTokens": usage.total_tokens,
        "inputTokens": usage.input_tokens,
        "cachedInputTokens": usage.cached_input_tokens,
        "outputTokens": usage.output_tokens,
        "reasoningOutputTokens": usage.reasoning_output_tokens,
    }


def name_updated(thread_id: str, name: str | None) -> Notification:
    """``thread/name/updated``."""
    return Notification("thread/name/updated", {"threadId": thread_id, "threadName": name})


def error(
    thread_id: str, turn_id: str, turn_error: TurnError, *, will_retry: bool = False
) -> Notification:
    """``error`` (a turn-level error; ``willRetry`` false ends the turn)."""
    return Notification(
        "error",
        {"error": turn_error, "willRetry": will_retry, "threadId": thread_id, "turnId": turn_id},
    )


def model_rerouted(
    thread_id: str, turn_id: str, from_model: str, to_model: str, reason: str
) -> Notification:
    """``model/rerouted``."""
    return Notification(
        "model/rerouted",
        {
            "threadId": thread_id,
            "turnId": turn_id,
            "fromModel": from_model,
            "toModel": to_model,
            "reason": reason,
        },
    )


def thread_status_changed(thread_id: str, status: ThreadStatus) -> Notification:
    """``thread/status/changed`` (0.171): active while a turn runs, idle after, notLoaded
    once archived."""
    return Notification("thread/status/changed", {"threadId": thread_id, "status": status})


def thread_deleted(thread_id: str) -> Notification:
    """``thread/deleted`` (0.171)."""
    return Notification("thread/deleted", {"threadId": thread_id})


def thread_reverted(thread_id: str) -> Notification:
    """``thread/reverted`` (0.171): the thread's history now ends before a turn."""
    return Notification("thread/reverted", {"threadId": thread_id})


def thread_archived(thread_id: str) -> Notification:
    """``thread/archived``."""
    return Notification("thread/archived", {"threadId": thread_id})


def thread_unarchived(thread_id: str) -> Notification:
    """``thread/unarchived``."""
    return Notification("thread/unarchived", {"threadId": thread_id})


def is_in_progress(item: ThreadItemKind) -> bool:
    """An item that will be completed later (a tool call still running)."""
    if isinstance(item, CommandExecutionItem | FileChangeItem | DynamicToolCallItem):
        return item.status == "inProgress"
    return False


_PLAN_STATUS = {"pending": "pending", "in_progress": "inProgress", "completed": "completed"}


def turn_plan_updated(
    thread_id: str, turn_id: str, plan: list[dict[str, str]], explanation: str | None
) -> Notification:
    """``turn/plan/updated`` (steps' ``in_progress`` spelled ``inProgress`` as v2 does)."""
    steps = [{"step": s["step"], "status": _PLAN_STATUS[s["status"]]} for s in plan]
    return Notification(
        "turn/plan/updated",
        {"threadId": thread_id, "turnId": turn_id, "explanation": explanation, "plan": steps},
    )
