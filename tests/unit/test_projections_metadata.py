"""The metadata fold and the persistence policy."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadlog.events.event_msgs import (
    AgentMessage,
    ErrorEvent,
    ItemCompleted,
    TaskStarted,
    ThreadNameUpdated,
    TokenCount,
    TokenUsage,
    TokenUsageInfo,
    UserMessage,
    WarningEvent,
)
from threadlog.events.response_items import InputText, Message
from threadlog.events.rollout import (
    DynamicToolSpec,
    GitInfo,
    SessionMeta,
    TurnContext,
    UnknownEventMsg,
)
from threadlog.events.tool_events import ExecCommandEnd, PatchApplyEnd
from threadlog.projections.metadata import MetadataExtractor, preview_of
from threadlog.projections.policy import is_persisted, persisted_form, sanitize_for_persistence
from threadlog.projections.thread_view import uuid5_text
from threadlog.testing.sequences import valid_rollout_items

TID = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
SOURCE_TID = "01a20ab1-1016-7a22-b0af-338a78237cd0"


def extract(items: list[Any], **record: Any) -> Any:
    extractor = MetadataExtractor(thread_id=TID, rollout_path="/h/r.jsonl", created_at_ms=1_000)
    extractor.feed_all(items)
    return extractor.entry(**record)


def meta(**kw: Any) -> SessionMeta:
    base: dict[str, Any] = {
        "id": TID,
        "timestamp": "2026-02-10T18:22:01.498Z",
        "cwd": "/home/u/proj",
        "cli_version": "0.105.0",
        "source": "cli",
        "model_provider": "openai",
    }
    base.update(kw)
    return SessionMeta(**base)


def test_first_meta_decides_identity_and_forks_ignore_copied_metas() -> None:
    fork_meta = meta(forked_from_id=SOURCE_TID, dynamic_tools=[DynamicToolSpec(name="t")])
    copied = meta(id=SOURCE_TID, cwd="/elsewhere", source="exec", model_provider="other")
    record = extract([fork_meta, copied])
    row = record.row
    assert (row.id, row.cwd, row.source, row.model_provider) == (
        TID,
        "/home/u/proj",
        "cli",
        "openai",
    )
    assert row.forked_from_id == SOURCE_TID
    assert row.created_at_ms == 1770747721000  # sub-seconds dropped
    assert [t.name for t in record.dynamic_tools] == ["t"]


def test_preview_and_title_rules() -> None:
    assert preview_of(UserMessage(message="## My request for Codex:\n  fix it  ")) == "fix it"
    assert preview_of(UserMessage(message="  ", images=["data:x"])) == "[Image]"
    assert preview_of(UserMessage(message="  ")) is None
    row = extract(
        [
            meta(),
            UserMessage(message="   "),
            UserMessage(message="", local_images=["/a.png"]),
            UserMessage(message="real question"),
            UserMessage(message="later question"),
        ]
    ).row
    assert row.first_user_message == "[Image]"
    assert row.title == "real question"  # never from images


def test_cwd_precedence_context_settings_tokens_and_name() -> None:
    context = TurnContext(
        cwd="/from/context",
        model="gpt-5",
        effort="high",
        approval_policy="never",
        sandbox_policy={"type": "danger-full-access"},
    )
    usage = TokenUsageInfo(total_token_usage=TokenUsage(total_tokens=1234))
    row = extract(
        [
            meta(cwd=""),
            context,
            TurnContext(cwd="/second", model="gpt-5.1"),
            TokenCount(info=usage),
            TokenCount(info=None),
            ThreadNameUpdated(thread_id=TID, thread_name=" named "),
        ]
    ).row
    assert row.cwd == "/from/context"
    assert (row.model, row.reasoning_effort) == ("gpt-5.1", None)
    assert row.approval_mode == "never"
    assert json.loads(row.sandbox_policy) == {"type": "danger-full-access"}
    assert row.tokens_used == 1234
    assert row.name == "named"


def test_git_source_kind_and_default_provider() -> None:
    record = extract(
        [meta(model_provider=None, source={"subagent": "review"}, git=GitInfo(commit_hash="abc"))],
        archived=True,
        archived_at_ms=77,
        updated_at_ms=5000,
    )
    row = record.row
    assert (row.git_sha, row.git_branch) == ("abc", None)
    assert row.source_kind == "subAgentReview" and json.loads(row.source) == {"subagent": "review"}
    assert row.model_provider == "openai"
    assert (row.archived, row.archived_at_ms, row.updated_at_ms) == (True, 77, 5000)


def test_without_a_meta_the_file_name_identity_stays() -> None:
    row = extract([UserMessage(message="hi")]).row
    assert (row.id, row.created_at_ms, row.source) == (TID, 1000, "vscode")


def test_a_bad_id_in_a_meta_is_not_an_identity() -> None:
    row = extract([meta(id="../../etc/passwd")]).row
    assert row.id == TID


@settings(max_examples=100, deadline=None)
@given(items=valid_rollout_items(), cut=st.integers(min_value=0, max_value=100))
def test_resuming_from_a_stored_row_equals_folding_everything(items: list[Any], cut: int) -> None:
    full = [meta(), *items]
    cut = min(cut, len(full))
    first = MetadataExtractor(thread_id=TID, rollout_path="/p", created_at_ms=0)
    first.feed_all(full[:cut])
    partial = first.entry()
    identified = any(isinstance(i, SessionMeta) for i in full[:cut])
    resumed = MetadataExtractor.from_row(partial.row, partial.dynamic_tools, identified=identified)
    resumed.feed_all(full[cut:])
    whole = MetadataExtractor(thread_id=TID, rollout_path="/p", created_at_ms=0)
    whole.feed_all(full)
    assert resumed.entry() == whole.entry()


# --- policy ---------------------------------------------------------------------------


def _exec(output: str) -> ExecCommandEnd:
    return ExecCommandEnd(
        call_id="c",
        command=["x"],
        stdout="out",
        stderr="err",
        formatted_output="f",
        aggregated_output=output,
    )


@pytest.mark.parametrize(
    ("item", "limited", "extended"),
    [
        (meta(), True, True),
        (TurnContext(), True, True),
        (Message(role="user", content=[InputText("x")]), True, True),
        (UserMessage(message="x"), True, True),
        (AgentMessage(message="x"), True, True),
        (TaskStarted(turn_id="t"), True, True),
        (ErrorEvent(message="x"), False, True),
        (_exec("x"), False, True),
        (PatchApplyEnd(call_id="c"), False, True),
        (WarningEvent(message="w"), False, False),
        (
            ItemCompleted(
                thread_id="t", turn_id="u", item={"type": "Plan", "id": "p", "text": "x"}
            ),
            True,
            True,
        ),
        (
            ItemCompleted(thread_id="t", turn_id="u", item={"type": "AgentMessage", "id": "p"}),
            False,
            False,
        ),
        (UnknownEventMsg("new", msgspec.Raw(b"{}")), False, False),
    ],
)
def test_what_each_mode_writes(item: Any, limited: bool, extended: bool) -> None:
    assert is_persisted(item, "limited") is limited
    assert is_persisted(item, "extended") is extended


def test_exec_output_is_sanitised_in_extended_mode() -> None:
    output = "é" * 30_000  # 60,000 bytes of two-byte characters
    written = sanitize_for_persistence(_exec(output), "extended")
    assert isinstance(written, ExecCommandEnd)
    assert (written.stdout, written.stderr, written.formatted_output) == ("", "", "")
    head, _, rest = written.aggregated_output.partition("…")
    assert head == "é" * 2500 and rest.endswith("é" * 2500)
    assert "…25000 chars truncated…" in written.aggregated_output
    assert persisted_form(_exec(output), "limited") is None
    small = sanitize_for_persistence(_exec("ok"), "extended")
    assert isinstance(small, ExecCommandEnd) and small.aggregated_output == "ok"


@given(st.text(), st.uuids())
def test_uuid5_text_is_uuid5(name: str, namespace: uuid.UUID) -> None:
    """The read state's revision is a UUIDv5: the fast form must be the very same one."""
    assert uuid5_text(namespace.bytes, name) == str(uuid.uuid5(namespace, name))
