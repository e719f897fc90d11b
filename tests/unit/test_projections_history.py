"""The history fold: properties over generated sequences, the tricky rules, the corpus."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    AgentReasoningRawContent,
    ContextCompacted,
    ErrorEvent,
    ItemCompleted,
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    TurnAborted,
    TurnCompleteAlias,
    TurnStartedAlias,
    UserMessage,
)
from threadlog.events.rollout import Compacted
from threadlog.events.thread_items import (
    AgentMessageItem,
    CommandExecutionItem,
    ContextCompactionItem,
    ReasoningItem,
    UserMessageItem,
)
from threadlog.events.tool_events import Duration, ExecCommandEnd
from threadlog.events.views import Turn
from threadlog.projections.history import (
    HistoryBuilder,
    ItemAdded,
    ItemUpdated,
    TurnChanged,
    TurnOpened,
    TurnsDropped,
    TurnTimed,
    build_turns,
)
from threadlog.testing.sequences import valid_rollout_items, with_noise

T1 = "00000001-0000-7000-8000-000000000001"
T2 = "00000002-0000-7000-8000-000000000002"


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"implicit-{next(counter)}"


def fold(items: list[Any], running: bool = False) -> list[Turn]:
    return build_turns(items, new_id=ids(), running=running)


def replay_changes(changes: list[Any]) -> list[Turn]:
    """Rebuild turns from the change log alone, as a live client would from notifications."""
    turns: dict[str, dict[str, Any]] = {}
    for change in changes:
        if isinstance(change, TurnOpened):
            turns[change.turn_id] = {"items": {}, "status": change.status, "error": None}
            turns[change.turn_id]["timing"] = {"root_turn_id": change.turn_id}
        elif isinstance(change, ItemAdded | ItemUpdated):
            turns[change.turn_id]["items"][change.item.id] = change.item
        elif isinstance(change, TurnChanged):
            turns[change.turn_id]["status"] = change.status
            turns[change.turn_id]["error"] = change.error
        elif isinstance(change, TurnTimed):
            turns[change.turn_id]["timing"] = {
                "root_turn_id": change.root_turn_id or change.turn_id,
                "started_at": change.started_at,
                "completed_at": change.completed_at,
                "duration_ms": change.duration_ms,
            }
        elif isinstance(change, TurnsDropped):
            for tid in change.dropped:
                turns.pop(tid, None)
    return [
        Turn(
            id=tid,
            items=list(t["items"].values()),
            status=t["status"],
            error=t["error"],
            **t["timing"],
        )
        for tid, t in turns.items()
    ]


SETTINGS = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@SETTINGS
@given(valid_rollout_items())
def test_one_at_a_time_with_snapshots_equals_whole_fold(items: list[Any]) -> None:
    builder = HistoryBuilder(ids())
    changes: list[Any] = []
    for item in items:
        changes += builder.feed(item)
        builder.snapshot(running=True)  # looking never changes anything
    assert builder.snapshot() == fold(items)
    assert replay_changes(changes) == builder.snapshot(running=True)


@SETTINGS
@given(items=valid_rollout_items(), cut=st.integers(min_value=0, max_value=200))
def test_prefix_then_rest_equals_everything(items: list[Any], cut: int) -> None:
    cut = min(cut, len(items))
    builder = HistoryBuilder(ids())
    builder.feed_all(items[:cut])
    assert builder.snapshot() == fold(items[:cut])
    builder.feed_all(items[cut:])
    assert builder.snapshot() == fold(items)


@SETTINGS
@given(st.data())
def test_unknown_and_ignored_kinds_never_change_the_result(data: st.DataObject) -> None:
    items = data.draw(valid_rollout_items())
    noisy = data.draw(with_noise(items))
    assert fold(noisy) == fold(items)


@SETTINGS
@given(valid_rollout_items())
def test_structural_invariants(items: list[Any]) -> None:
    turns = fold(items)
    seen: set[str] = set()
    for turn in turns:
        assert turn.status != "inProgress"  # not running: nothing reads as in progress
        if turn.status == "failed":
            assert turn.error is not None
        for item in turn.items:
            assert item.id not in seen or not item.id.startswith("item-")
            seen.add(item.id)


def test_reasoning_merges_into_the_last_item_only() -> None:
    turns = fold(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="q"),
            AgentReasoning(text="a"),
            AgentReasoning(text="b"),
            AgentReasoningRawContent(text="raw"),
            AgentMessage(message="m"),
            AgentReasoning(text="c"),
            TaskComplete(turn_id=T1),
        ]
    )
    items = turns[0].items
    assert items[1] == ReasoningItem(id="item-2", summary=["a", "b"], content=["raw"])
    assert items[2] == AgentMessageItem(id="item-3", text="m")
    assert items[3] == ReasoningItem(id="item-4", summary=["c"], content=[])


def _exec(turn_id: str, call: str = "call_1") -> ExecCommandEnd:
    return ExecCommandEnd(
        call_id=call,
        command=["echo", "hello world"],
        cwd="/w",
        turn_id=turn_id,
        aggregated_output="",
        duration=Duration(secs=1, nanos=500_000_000),
    )


def test_late_exec_lands_in_its_own_closed_turn() -> None:
    turns = fold(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="one"),
            TaskComplete(turn_id=T1),
            TaskStarted(turn_id=T2),
            UserMessage(message="two"),
            _exec(T1),
            _exec("unknown-turn", "call_2"),
            TaskComplete(turn_id=T2),
        ]
    )
    late = turns[0].items[-1]
    assert isinstance(late, CommandExecutionItem)
    assert (late.id, late.command, late.duration_ms, late.aggregated_output) == (
        "call_1",
        "echo 'hello world'",
        1500,
        None,
    )
    assert turns[1].items[-1].id == "call_2"  # no such turn: falls back to the open one


def test_abort_and_error_statuses() -> None:
    turns = fold(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="one"),
            ErrorEvent(message="rollback failed", codex_error_info="thread_rollback_failed"),
            TurnAborted(reason="interrupted", turn_id=T1),
            TaskComplete(turn_id=T1),
            ErrorEvent(message="after the turn", codex_error_info="other"),
            TaskStarted(turn_id=T2),
            UserMessage(message="two"),
            ErrorEvent(
                message="boom",
                codex_error_info={"http_connection_failed": {"http_status_code": 500}},
            ),
            TaskComplete(turn_id=T2),
        ]
    )
    assert turns[0].status == "interrupted" and turns[0].error is None
    assert turns[1].status == "failed"
    assert turns[1].error is not None
    assert turns[1].error.codex_error_info == {"httpConnectionFailed": {"httpStatusCode": 500}}


def test_turn_started_and_complete_spellings() -> None:
    turns = fold(
        [TurnStartedAlias(turn_id=T1), UserMessage(message="x"), TurnCompleteAlias(turn_id=T1)]
    )
    assert [(t.id, t.status) for t in turns] == [(T1, "completed")]


def test_a_turn_cut_off_by_a_crash_reads_interrupted_unless_running() -> None:
    items = [TaskStarted(turn_id=T1), UserMessage(message="x"), AgentMessage(message="partial")]
    assert fold(items)[0].status == "interrupted"
    assert fold(items, running=True)[0].status == "inProgress"


def test_rollback_drops_turns_and_resets_the_counter() -> None:
    turns = fold(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="one"),
            AgentMessage(message="a"),
            TaskComplete(turn_id=T1),
            TaskStarted(turn_id=T2),
            UserMessage(message="two"),
            TaskComplete(turn_id=T2),
            ThreadRolledBack(num_turns=1),
            UserMessage(message="three"),
        ]
    )
    assert [t.id for t in turns][:1] == [T1]
    assert turns[1].items[0] == UserMessageItem(id="item-3", content=turns[1].items[0].content)  # type: ignore[attr-defined]
    assert (
        fold([TaskStarted(turn_id=T1), UserMessage(message="x"), ThreadRolledBack(num_turns=9)])
        == []
    )


def test_implicit_turns_for_legacy_files() -> None:
    turns = fold(
        [
            UserMessage(message="one"),
            AgentMessage(message="a"),
            UserMessage(message="two"),
            Compacted(message="summary"),
            ContextCompacted(),
        ]
    )
    assert [t.id for t in turns] == ["implicit-1", "implicit-2"]
    assert all(t.status == "completed" for t in turns)
    assert isinstance(turns[1].items[-1], ContextCompactionItem)


def test_compaction_only_turn_is_kept_and_joined_by_the_next_user_message() -> None:
    turns = fold([Compacted(message="s"), UserMessage(message="after")])
    assert len(turns) == 1 and len(turns[0].items) == 1


def test_plan_items_from_item_completed() -> None:
    turns = fold(
        [
            TaskStarted(turn_id=T1),
            UserMessage(message="plan it"),
            ItemCompleted(
                thread_id="t", turn_id=T1, item={"type": "Plan", "id": "p1", "text": "- a"}
            ),
            ItemCompleted(thread_id="t", turn_id=T1, item={"type": "Plan", "id": "p2", "text": ""}),
            ItemCompleted(thread_id="t", turn_id=T1, item={"type": "NotAKind", "id": "x"}),
            TaskComplete(turn_id=T1),
        ]
    )
    # an empty plan shows nothing, nor does a TurnItem type the app-server does not show
    assert [i.id for i in turns[0].items] == ["item-1", "p1"]


def test_user_message_content_rules() -> None:
    turns = fold(
        [UserMessage(message="  ", images=["data:img"], local_images=["/p.png"], text_elements=[])]
    )
    content = msgspec.to_builtins(turns[0].items[0])["content"]
    assert content == [
        {"type": "image", "url": "data:img"},
        {"type": "localImage", "path": "/p.png"},
    ]


def test_a_turn_left_running_by_a_dead_writer_closes_interrupted_and_the_next_starts() -> None:
    counter = itertools.count()
    builder = HistoryBuilder(lambda: f"id-{next(counter)}")
    builder.feed_all([TaskStarted(turn_id="t1"), UserMessage(message="hi")])  # then a crash
    builder.close_dangling_turn()
    builder.strict = True
    builder.feed_all([TaskStarted(turn_id="t2"), UserMessage(message="again")])
    assert [(t.id, t.status) for t in builder.snapshot(running=True)] == [
        ("t1", "interrupted"),
        ("t2", "inProgress"),
    ]
    builder.feed(TaskComplete(turn_id="t2"))
    builder.close_dangling_turn()  # a completed turn is not touched
    assert [t.status for t in builder.snapshot()] == ["interrupted", "completed"]
    legacy = HistoryBuilder(lambda: f"id-{next(counter)}")
    legacy.feed(UserMessage(message="an implicit turn (no task_started)"))
    legacy.close_dangling_turn()  # nor an implicit one: later items still join it
    assert legacy.open_turn_id is not None
