"""Hypothesis strategies for *valid* rollout item sequences, public for hosts' own tests.

Sequences look like what Codex (or our runtime) writes: explicit turns bracketed by
``task_started``/``task_complete`` with messages, reasoning and tool events inside (tool
events sometimes late, carrying an earlier turn's id), aborts, errors, rollbacks,
compactions; or legacy runs without task events. ``with_noise`` sprinkles items the history
fold must ignore (unknown kinds, response items, turn contexts, token counts).
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    AgentReasoningRawContent,
    ContextCompacted,
    EnteredReviewMode,
    ErrorEvent,
    ExitedReviewMode,
    ItemCompleted,
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    TokenCount,
    TurnAborted,
    UserMessage,
)
from threadlog.events.response_items import InputText, Message
from threadlog.events.rollout import Compacted, TurnContext, UnknownEventMsg, UnknownItem
from threadlog.events.tool_events import (
    Duration,
    ExecCommandEnd,
    McpInvocation,
    McpToolCallEnd,
    PatchApplyEnd,
    WebSearchEnd,
)

_WORDS = st.sampled_from(["", "hi", "fix it", "done", "  ", "## My request for Codex: go"])
_ERROR_INFO = st.sampled_from(
    [
        "other",
        "internal_server_error",
        "thread_rollback_failed",
        "active_turn_not_steerable",
        {"http_connection_failed": {"http_status_code": 502}},
    ]
)


def _turn_ids(n: int) -> list[str]:
    return [f"0000000{i:x}-0000-7000-8000-{i:012x}" for i in range(1, n + 1)]


@st.composite
def _tool_event(draw: st.DrawFn, turn_ids: list[str], call: int) -> Any:
    turn_id = draw(st.sampled_from([*turn_ids, "", "ffffffff-ffff-7fff-bfff-ffffffffffff"]))
    kind = draw(st.integers(0, 3))
    call_id = f"call_{call}"
    if kind == 0:
        return ExecCommandEnd(
            call_id=call_id,
            command=["bash", "-lc", draw(_WORDS)],
            turn_id=turn_id,
            exit_code=draw(st.integers(0, 3)),
            aggregated_output=draw(_WORDS),
            duration=Duration(secs=0, nanos=draw(st.integers(0, 10**9 - 1))),
        )
    if kind == 1:
        return PatchApplyEnd(
            call_id=call_id,
            turn_id=turn_id,
            success=draw(st.booleans()),
            changes={
                "b.txt": {"type": "add", "content": "x"},
                "a.txt": {"type": "delete", "content": "y"},
            },
        )
    if kind == 2:
        ok = draw(st.booleans())
        return McpToolCallEnd(
            call_id=call_id,
            invocation=McpInvocation(server="s", tool="t"),
            result={"Ok": {"content": []}} if ok else {"Err": "boom"},
        )
    return WebSearchEnd(call_id=call_id, query=draw(_WORDS))


@st.composite
def valid_rollout_items(draw: st.DrawFn, *, explicit: bool | None = None) -> list[Any]:
    """A plausible sequence of history-relevant rollout items."""
    if explicit is None:
        explicit = draw(st.booleans())
    turns = draw(st.integers(0, 6))
    turn_ids = _turn_ids(turns)
    items: list[Any] = []
    call = 0
    for index, turn_id in enumerate(turn_ids):
        if explicit:
            items.append(TaskStarted(turn_id=turn_id))
        items.append(
            UserMessage(message=draw(_WORDS), images=draw(st.sampled_from([None, ["data:x"]])))
        )
        for _ in range(draw(st.integers(0, 6))):
            step = draw(st.integers(0, 11))
            if step <= 1:
                items.append(
                    AgentMessage(
                        message=draw(_WORDS), phase=draw(st.sampled_from([None, "commentary"]))
                    )
                )
            elif step == 2:
                items.append(AgentReasoning(text=draw(_WORDS)))
            elif step == 3:
                items.append(AgentReasoningRawContent(text=draw(_WORDS)))
            elif step == 4:
                call += 1
                items.append(draw(_tool_event(turn_ids[: index + 1], call)))
            elif step == 5:
                items.append(ContextCompacted())
            elif step == 6:
                items.append(Compacted(message="summary"))
            elif step == 7:
                items.append(ErrorEvent(message="failed", codex_error_info=draw(_ERROR_INFO)))
            elif step == 8:
                items.append(
                    ItemCompleted(
                        thread_id="t",
                        turn_id=turn_id,
                        item={"type": "Plan", "id": f"plan-{index}", "text": draw(_WORDS)},
                    )
                )
            elif step == 9:
                items.append(
                    EnteredReviewMode(user_facing_hint=draw(st.sampled_from([None, "hint"])))
                )
            elif step == 10:
                items.append(
                    ExitedReviewMode(
                        review_output=draw(st.sampled_from([None, {"overall_explanation": " ok "}]))
                    )
                )
            else:
                items.append(UserMessage(message=draw(_WORDS)))
        ending = draw(st.integers(0, 4))
        if ending == 0:
            items.append(
                TurnAborted(reason="interrupted", turn_id=draw(st.sampled_from([turn_id, None])))
            )
        if explicit and ending != 1:  # ending 1: the process died mid-turn
            items.append(TaskComplete(turn_id=draw(st.sampled_from([turn_id, turn_ids[0]]))))
        if draw(st.integers(0, 9)) == 0:
            items.append(ThreadRolledBack(num_turns=draw(st.integers(0, 3))))
    return items


def noise() -> st.SearchStrategy[Any]:
    """Items the history fold must not react to."""
    return st.sampled_from(
        [
            UnknownEventMsg("brand_new_event", msgspec.Raw(b'{"type":"brand_new_event"}')),
            UnknownItem("world_state", msgspec.Raw(b"{}")),
            Message(role="user", content=[InputText("not an event")]),
            TurnContext(cwd="/x", model="m"),
            TokenCount(info=None),
        ]
    )


@st.composite
def with_noise(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    """``items`` with ignorable items inserted at random positions."""
    out = list(items)
    for _ in range(draw(st.integers(0, 8))):
        out.insert(draw(st.integers(0, len(out))), draw(noise()))
    return out
