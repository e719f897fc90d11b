"""The event table, the turn transition table and the strict fold."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from threadlog.events.codec import EVENT_MSG_TYPES
from threadlog.events.event_msgs import (
    AgentMessage,
    ErrorEvent,
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    TurnAborted,
    UserMessage,
)
from threadlog.events.tool_events import ExecCommandEnd
from threadlog.projections.event_kinds import EVENT_KINDS, kind_of, unregistered
from threadlog.projections.history import HistoryBuilder, HistoryError
from threadlog.projections.turns import TURN_TRANSITIONS

STATUSES = ("inProgress", "completed", "failed", "interrupted")
SIGNALS = ("complete", "abort", "error", "close")
T1, T2 = "00000001-0000-7000-8000-000000000001", "00000002-0000-7000-8000-000000000002"
OPEN = f"turn {T1} inProgress"

# Codex section 3: what each persistence mode writes (the reference's two lists).
LIMITED = {
    "UserMessage",
    "AgentMessage",
    "AgentReasoning",
    "AgentReasoningRawContent",
    "TokenCount",
    "ContextCompacted",
    "EnteredReviewMode",
    "ExitedReviewMode",
    "ThreadRolledBack",
    "UndoCompleted",
    "TurnAborted",
    "TaskStarted",
    "TaskComplete",
    "ThreadNameUpdated",
    "ImageGenerationEnd",
}
EXTENDED_ONLY = {
    "ErrorEvent",
    "ExecCommandEnd",
    "PatchApplyEnd",
    "McpToolCallEnd",
    "WebSearchEnd",
    "ViewImageToolCall",
    "CollabAgentSpawnEnd",
    "CollabAgentInteractionEnd",
    "CollabWaitingEnd",
    "CollabCloseEnd",
    "CollabResumeEnd",
    "DynamicToolCallRequest",
    "DynamicToolCallResponse",
}


def test_every_event_class_is_registered() -> None:
    assert unregistered() == []
    for cls in EVENT_MSG_TYPES:
        assert kind_of(cls) is not None, cls


def test_the_table_keeps_what_codex_keeps() -> None:
    keep = {cls.__name__: row.keep for cls, row in EVENT_KINDS.items()}
    assert {name for name, k in keep.items() if k == "always"} == LIMITED
    assert {name for name, k in keep.items() if k == "extended"} == EXTENDED_ONLY
    assert {name for name, k in keep.items() if k == "plan"} == {"ItemCompleted"}


def test_tool_rows_name_their_item_and_route_and_every_fold_exists() -> None:
    for cls, row in EVENT_KINDS.items():
        if row.fold == "tool_item":
            assert row.item is not None and row.route in ("own", "open"), cls
        else:
            assert row.item is None and row.route is None, cls
        if row.fold is not None:
            assert hasattr(HistoryBuilder, f"_on_{row.fold}"), cls


def test_the_transition_table_is_total_and_never_revives_a_turn() -> None:
    assert set(TURN_TRANSITIONS) == set(itertools.product(STATUSES, SIGNALS))
    for status in STATUSES:
        assert TURN_TRANSITIONS[(status, "abort")] == "interrupted"
        assert TURN_TRANSITIONS[(status, "error")] == "failed"
    assert TURN_TRANSITIONS[("failed", "complete")] == "failed"
    assert TURN_TRANSITIONS[("interrupted", "complete")] == "interrupted"
    assert TURN_TRANSITIONS[("inProgress", "close")] == "interrupted"


def _builder(strict: bool) -> HistoryBuilder:
    counter = itertools.count()
    return HistoryBuilder(lambda: f"implicit-{next(counter)}", strict=strict)


@pytest.mark.parametrize(
    ("sequence", "state", "event"),
    [
        ([TaskStarted(turn_id=T1), TaskStarted(turn_id=T2)], OPEN, "TaskStarted"),
        ([AgentMessage(message="hi")], "no open turn", "AgentMessage"),
        ([UserMessage(message="legacy")], "no open turn", "UserMessage"),
        ([TaskComplete(turn_id=T1)], "no open turn", "TaskComplete"),
        ([TurnAborted(reason="interrupted", turn_id=T1)], "no open turn", "TurnAborted"),
        ([ErrorEvent(message="x")], "no open turn", "ErrorEvent"),
        ([TaskStarted(turn_id=T1), ThreadRolledBack(num_turns=1)], OPEN, "ThreadRolledBack"),
        (
            [ExecCommandEnd(call_id="c", command=["ls"], turn_id="")],
            "no open turn",
            "ExecCommandEnd",
        ),
    ],
)
def test_strict_mode_names_the_state_and_the_event(
    sequence: list[Any], state: str, event: str
) -> None:
    tolerant = _builder(strict=False)
    tolerant.feed_all(sequence)  # a reader of other writers' logs folds it anyway
    strict = _builder(strict=True)
    with pytest.raises(HistoryError) as raised:
        strict.feed_all(sequence)
    assert (raised.value.state, raised.value.event) == (state, event)
    assert state in str(raised.value) and event in str(raised.value)


def test_strict_mode_accepts_what_our_writer_writes() -> None:
    strict = _builder(strict=True)
    strict.feed_all(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="go"),
            AgentMessage(message="ok"),
            TurnAborted(reason="interrupted", turn_id=T1),
            TaskStarted(turn_id=T2),  # after an interrupt the turn is no longer in progress
            UserMessage(message="again"),
            ErrorEvent(message="boom"),
            TaskComplete(turn_id=T2),
            ExecCommandEnd(
                call_id="late", command=["ls"], turn_id=T1
            ),  # a late exit lands in its turn
            ThreadRolledBack(num_turns=1),
        ]
    )
    [turn] = strict.snapshot()
    assert turn.id == T1 and turn.status == "interrupted" and len(turn.items) == 3
