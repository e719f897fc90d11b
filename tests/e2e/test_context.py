"""The contextual prompt: initial context, bundled updates, the contextual table, compaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.corpus import CODEX_REAL
from tests.support.rpc_client import RpcClient, close_server, start_server
from tests.support.runtime_helpers import drain, open_runtime, script, text
from threadlog.actors.drivers.protocol import TurnHandle, TurnRequest
from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.actors.realtime.session import LoopbackTransport
from threadlog.actors.shell.agents_md import MAX_BYTES, agents_md
from threadlog.events.errors import ThreadError
from threadlog.events.event_msgs import ContextCompacted, TaskStarted, UserMessage
from threadlog.events.response_items import InputText, Message, ResponseItem, message_text
from threadlog.events.rollout import Compacted, TurnContext
from threadlog.events.thread_items import ContextCompactionItem, UserMessageItem
from threadlog.projections.context import is_contextual, is_user_turn, model_history
from threadlog.projections.metadata import MetadataExtractor
from threadlog.projections.prompt import (
    PromptContext,
    compacted_history,
    context_update,
    initial_context,
)
from threadlog.store.reader import read_items

CTX = PromptContext(
    cwd="/work/project",
    shell="bash",
    current_date="2026-12-01",
    timezone="Europe/Berlin",
    model="model-a",
    approval_policy="never",
    sandbox_policy={"type": "danger-full-access"},
    agents_md="Run the tests before committing.",
)


def fragments(message: Message) -> list[str]:
    """The text parts of a message."""
    return [p.text for p in message.content if isinstance(p, InputText)]


def openers(messages: Sequence[Any]) -> list[tuple[str, str]]:
    """(role, first line) of each fragment of each message: the shape of a context."""
    return [
        (m.role, text.split("\n", 1)[0].split(" for ", 1)[0])
        for m in messages
        for text in fragments(m)
    ]


class RecordingDriver(ScriptedDriver):
    """The scripted driver, keeping the model-visible history each turn was given."""

    def __init__(self) -> None:
        super().__init__()
        self.histories: list[list[ResponseItem]] = []

    async def run_turn(self, request: TurnRequest, turn: TurnHandle) -> None:
        """Record what the model would see, then play the script."""
        self.histories.append(list(request.history))
        await super().run_turn(request, turn)

    async def summarize(self, history: list[ResponseItem]) -> str:
        """A summary naming how much it covered."""
        return f"summary of {len(history)} items"


def contexts_added(history: Sequence[ResponseItem], since: int) -> list[Message]:
    """The context messages a history gained after position ``since``."""
    return [i for i in history[since:] if isinstance(i, Message) and is_contextual(i)]


# --- the pure fragments ----------------------------------------------------------------


def test_initial_context_is_one_developer_and_one_contextual_user_message() -> None:
    ctx = msgspec.structs.replace(CTX, developer_instructions="Be terse.", realtime_active=True)
    developer, user = initial_context(ctx, switched_from="model-old")
    assert developer.role == "developer" and user.role == "user"
    assert openers([developer]) == [
        ("developer", "<permissions instructions>"),
        ("developer", "Be terse."),
        ("developer", "<model_switch>"),
        ("developer", "<realtime_conversation>"),
    ]
    agents, environment = fragments(user)
    assert agents == (
        "# AGENTS.md instructions for /work/project\n\n<INSTRUCTIONS>\n"
        "Run the tests before committing.\n</INSTRUCTIONS>"
    )
    for tag, value in [
        ("cwd", "/work/project"),
        ("shell", "bash"),
        ("current_date", "2026-12-01"),
        ("timezone", "Europe/Berlin"),
    ]:
        assert f"<{tag}>{value}</{tag}>" in environment
    assert "model-old" in fragments(developer)[2] and "model-a" in fragments(developer)[2]
    assert is_contextual(developer) and is_contextual(user)


def test_the_real_clients_context_has_our_fragments_and_our_table_knows_them() -> None:
    """What Codex 0.105.0 sent: the same fragment kinds, all recognised as context.

    The real client sent AGENTS.md and the environment as two user messages and its
    environment carried only cwd and shell; we bundle them into one message and add the
    date and zone, as the issue asks. The fragment formats are the same.
    """
    request = json.loads((CODEX_REAL / "0.105.0" / "requests.jsonl").open().readline())
    sent = [
        msgspec.convert(m, Message)
        for m in request["body"]["input"]
        if m.get("type") == "message" and m["role"] in ("developer", "user")
    ]
    context = [m for m in sent if is_contextual(m)]
    asked = [m for m in sent if is_user_turn(m)]
    assert len(context) + len(asked) == len(sent) and len(asked) == 1
    real = openers(context)
    ours = openers(initial_context(msgspec.structs.replace(CTX, cwd="/x")))
    assert sorted(set(real)) == sorted(set(ours))
    real_agents = next(t for m in context for t in fragments(m) if t.startswith("# AGENTS.md"))
    assert "\n\n<INSTRUCTIONS>\n" in real_agents and real_agents.endswith("</INSTRUCTIONS>")


def test_an_unchanged_context_needs_no_update_and_a_change_one_bundle() -> None:
    assert context_update(CTX, CTX) == []
    tomorrow = msgspec.structs.replace(CTX, current_date="2026-12-02")
    (update,) = context_update(CTX, tomorrow)
    assert openers([update]) == [("user", "<environment_context>")]
    switched = msgspec.structs.replace(
        CTX, model="model-b", sandbox_policy={"type": "read-only"}, cwd="/work/other"
    )
    developer, user = context_update(CTX, switched)
    assert openers([developer]) == [
        ("developer", "<permissions instructions>"),
        ("developer", "<model_switch>"),
    ]
    assert "`read-only`" in fragments(developer)[0]
    assert openers([user]) == [
        ("user", "# AGENTS.md instructions"),
        ("user", "<environment_context>"),
    ]


def test_compaction_rebuilds_the_initial_context_with_the_model_switch() -> None:
    old_context = initial_context(msgspec.structs.replace(CTX, model="model-old"))
    asked = Message(role="user", content=[InputText("fix the bug")])
    history: list[ResponseItem] = [*old_context, asked]
    replaced = compacted_history(history, CTX, "we fixed it", first_model="model-old")
    assert replaced[:2] == initial_context(CTX, switched_from="model-old")
    assert replaced[2] == asked
    summary = replaced[3]
    assert isinstance(summary, Message) and "we fixed it" in message_text(summary)
    assert is_contextual(summary) and [i for i in replaced if is_user_turn(i)] == [asked]
    # Without a switch there is no model_switch fragment.
    plain = compacted_history(history, CTX, "s", first_model=None)
    assert "<model_switch>" not in json.dumps(msgspec.to_builtins(plain))


def test_previews_and_titles_skip_contextual_text() -> None:
    extractor = MetadataExtractor(thread_id="t", rollout_path="p", created_at_ms=0)
    extractor.feed(
        UserMessage(message="<environment_context>\n  <cwd>/</cwd>\n</environment_context>")
    )
    extractor.feed(
        UserMessage(message="# AGENTS.md instructions for /x\n\n<INSTRUCTIONS>\nr\n</INSTRUCTIONS>")
    )
    extractor.feed(UserMessage(message=" <SKILL>x</skill> "))  # ASCII case is ignored, as in Codex
    extractor.feed(UserMessage(message="the real question"))
    row = extractor.entry().row
    assert row.first_user_message == "the real question" and row.title == "the real question"


@pytest.mark.parametrize(
    "typed",
    [
        "<environment_context> is what I want to ask about",
        "# AGENTS.md instructions for my repo: how do I write them?",
        "<user_shell_command>ls</user_shell_command> did not work, why?",
    ],
)
def test_text_that_only_begins_like_context_is_what_the_user_said(typed: str) -> None:
    extractor = MetadataExtractor(thread_id="t", rollout_path="p", created_at_ms=0)
    extractor.feed(UserMessage(message=typed))
    row = extractor.entry().row
    assert row.first_user_message == typed and row.title == typed
    message = Message(role="user", content=[InputText(text=typed)])
    assert is_user_turn(message)


# --- through the runtime ---------------------------------------------------------------


async def _turn(rt: Any, thread_id: str, words: str, **settings: Any) -> None:
    await rt.start_turn(thread_id, text(words), **settings)
    await rt.wait_turn(thread_id)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git project with an AGENTS.md, a subdirectory with its own, and a fixed zone."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "AGENTS.md").write_text("Root rule.\n")
    (root / "sub").mkdir()
    (root / "sub" / "AGENTS.md").write_text("Sub rule.\n")
    return root


async def test_turns_send_the_initial_context_once_then_only_bundled_changes(
    tmp_path: Path, project: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "AGENTS.md").write_text("Global rule.\n")
    driver = RecordingDriver()
    async with open_runtime(home, driver=driver) as rt:
        thread = await rt.start_thread(cwd=str(project), developer_instructions="Be terse.")
        await _turn(rt, thread.id, "one")
        await _turn(rt, thread.id, "two")
        await _turn(rt, thread.id, "three", model="model-b", sandbox_policy={"type": "read-only"})
        await _turn(rt, thread.id, "four", cwd=str(project / "sub"))
        final = list((await rt.registry.loaded_actor(thread.id)).model_history)
    first, second, third, fourth = driver.histories
    developer, user = contexts_added(first, 0)
    assert openers([developer]) == [
        ("developer", "<permissions instructions>"),
        ("developer", "Be terse."),
    ]
    agents, environment = fragments(user)
    assert agents.split("<INSTRUCTIONS>\n")[1].startswith("Global rule.\n\nRoot rule.")
    assert "<timezone>Asia/Tokyo</timezone>" in environment
    assert contexts_added(second, len(first)) == []
    (update,) = contexts_added(third, len(second))
    assert openers([update]) == [
        ("developer", "<permissions instructions>"),
        ("developer", "<model_switch>"),
    ]
    (moved,) = contexts_added(fourth, len(third))
    assert moved.role == "user" and "Sub rule." in fragments(moved)[0]
    assert f"<cwd>{project / 'sub'}</cwd>" in fragments(moved)[1]
    # The user's own turns are exactly what they typed; context never counts as one.
    assert [message_text(m) for m in final if is_user_turn(m)] == ["one", "two", "three", "four"]
    items = read_items(Path(thread.path or ""))
    contexts = [i for i in items if isinstance(i, TurnContext)]
    assert contexts[0].developer_instructions == "Be terse."
    assert (
        contexts[0].user_instructions is not None and "Root rule." in contexts[0].user_instructions
    )
    # In the log the initial context comes before the first task_started, as Codex writes it.
    first_task = next(n for n, i in enumerate(items) if isinstance(i, TaskStarted))
    assert [i.role for i in items[:first_task] if isinstance(i, Message)] == ["developer", "user"]
    assert "Be terse." not in (thread.preview or "")


async def test_after_a_restart_the_model_is_not_told_again_but_changes_still_are(
    tmp_path: Path, project: Path
) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(cwd=str(project))
        await _turn(rt, thread.id, "one")
    driver = RecordingDriver()
    async with open_runtime(tmp_path, driver=driver) as rt:
        await rt.resume_thread(thread.id)
        await _turn(rt, thread.id, "two")
        await _turn(rt, thread.id, "three", model="model-b")
    before, after = driver.histories
    assert [m.role for m in contexts_added(before, 0)] == ["developer", "user"]
    (update,) = contexts_added(after, len(before))
    assert openers([update]) == [("developer", "<model_switch>")]


async def test_realtime_start_is_told_to_the_model_in_the_next_update(tmp_path: Path) -> None:
    driver = RecordingDriver()
    transport = LoopbackTransport()
    async with open_runtime(tmp_path, driver=driver, realtime_transport=transport) as rt:
        thread = await rt.start_thread()
        await _turn(rt, thread.id, "one")
        await rt.realtime.start(thread.id, prompt="talk")
        await _turn(rt, thread.id, "two")
        await rt.realtime.stop(thread.id)
    first, second = driver.histories
    (update,) = contexts_added(second, len(first))
    assert openers([update]) == [("developer", "<realtime_conversation>")]
    assert "is active" in fragments(update)[0]


async def test_fork_rollback_and_preview_never_count_context_as_a_user_turn(
    tmp_path: Path,
) -> None:
    driver = RecordingDriver()
    async with open_runtime(tmp_path, driver=driver) as rt:
        thread = await rt.start_thread()
        await _turn(rt, thread.id, "first question")
        await _turn(rt, thread.id, "second question", model="model-b")
        fork = await rt.fork_thread(thread.id, before_user_turn=1)
        assert [i.content for t in fork.turns for i in t.items if isinstance(i, UserMessageItem)]
        assert len(fork.turns) == 1
        await rt.rollback_thread(thread.id, 1)
        await _turn(rt, thread.id, "again")
        listed = await rt.read_thread(thread.id)
    forked = [i for i in read_items(Path(fork.path or "")) if isinstance(i, Message)]
    # The cut keeps the first turn with its context and drops the second turn's update.
    assert [m.role for m in forked if is_contextual(m)] == ["developer", "user"]
    assert [message_text(m) for m in forked if is_user_turn(m)] == ["first question"]
    # The rollback dropped the second turn and the model-b update it carried, so the next
    # turn tells the model everything again, the switch from the first model included.
    history = driver.histories[-1]
    assert [message_text(m) for m in history if is_user_turn(m)] == ["first question", "again"]
    again = [n for n, m in enumerate(history) if is_user_turn(m)][1]
    resent = contexts_added(history[:again], len(driver.histories[0]))
    assert openers(resent) == [
        ("developer", "<permissions instructions>"),
        ("developer", "<model_switch>"),
        ("user", "<environment_context>"),
    ]
    assert listed.preview == "first question"


async def test_compaction_replaces_the_history_and_survives_a_restart(tmp_path: Path) -> None:
    driver = RecordingDriver()
    async with open_runtime(tmp_path, driver=driver) as rt:
        thread = await rt.start_thread()
        await _turn(rt, thread.id, "one")
        await _turn(rt, thread.id, "two", model="model-b")
        async with rt.subscribe(thread.id) as notes:
            await rt.compact_thread(thread.id)
            seen = [(n.method, n.params) for n in drain(notes)]
        await _turn(rt, thread.id, "three")
        live = await rt.read_thread(thread.id, include_turns=True)
    compacted_items = [p["item"] for m, p in seen if m == "item/completed" and "item" in p]
    assert [type(i) for i in compacted_items] == [ContextCompactionItem]
    assert [m for m, _ in seen if m.startswith("turn/")] == ["turn/started", "turn/completed"]
    items = read_items(Path(live.path or ""))
    (compacted,) = [i for i in items if isinstance(i, Compacted)]
    assert any(isinstance(i, ContextCompacted) for i in items)
    replacement = model_history([compacted])
    developer, user = replacement[:2]
    assert isinstance(developer, Message) and isinstance(user, Message)
    assert openers([developer]) == [
        ("developer", "<permissions instructions>"),
        ("developer", "<model_switch>"),
    ]
    assert "`scripted`" in fragments(developer)[1] and "`model-b`" in fragments(developer)[1]
    assert [message_text(m) for m in replacement if is_user_turn(m)] == ["one", "two"]
    assert compacted.message.startswith("summary of ")
    # The turn after the compaction sees the replacement and nothing re-sent on top of it.
    after = driver.histories[-1]
    assert after[: len(replacement)] == replacement
    assert contexts_added(after, len(replacement)) == []
    assert [[type(i) for i in t.items] for t in live.turns][2] == [ContextCompactionItem]
    driver2 = RecordingDriver()
    async with open_runtime(tmp_path, driver=driver2) as rt:
        await rt.resume_thread(thread.id)
        await _turn(rt, thread.id, "four")
    history = driver2.histories[0]
    assert history[: len(replacement)] == replacement
    assert [message_text(m) for m in history if is_user_turn(m)] == ["one", "two", "three", "four"]
    assert contexts_added(history, len(replacement)) == []


async def test_serve_developer_instructions_and_compaction_end_to_end(tmp_path: Path) -> None:
    turn_input = [{"type": "text", "text": "hello", "text_elements": []}]
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        started = await client.result(
            "thread/start", {"cwd": str(tmp_path), "developerInstructions": "Answer in French."}
        )
        tid = started["thread"]["id"]
        await client.result("turn/start", {"threadId": tid, "input": turn_input})
        await client.until("turn/completed")
        assert await client.result("thread/compact/start", {"threadId": tid}) == {}
        await client.until("turn/completed", 2)
        kinds = [
            n["params"]["item"]["type"]
            for n in client.notifications
            if n["method"] == "item/completed"
        ]
        assert "contextCompaction" in kinds
        bad = await client.call("thread/compact/start", {"threadId": "../etc"})
        assert "error" in bad
        await close_server(process)
    items = read_items(Path(started["thread"]["path"]))
    contexts = [i for i in items if isinstance(i, TurnContext)]
    assert len(contexts) == 2  # the turn's and the compaction's
    assert {c.developer_instructions for c in contexts} == {"Answer in French."}
    told = [i for i in items if isinstance(i, Message) and i.role == "developer"]
    assert "Answer in French." in fragments(told[0])
    async with start_server(tmp_path) as process:
        client = RpcClient(process)
        await client.initialize()
        read = await client.result("thread/read", {"threadId": tid, "includeTurns": True})
        turns = read["thread"]["turns"]
        assert [i["type"] for i in turns[-1]["items"]] == ["contextCompaction"]
        assert read["thread"]["preview"] == "hello"


async def test_compaction_refuses_a_running_turn_and_an_empty_thread(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread()
        with pytest.raises(ThreadError, match="no history to compact"):
            await rt.compact_thread(thread.id)
        await rt.start_turn(thread.id, script([{"type": "sleep", "seconds": 30}]))
        with pytest.raises(ThreadError, match="while a turn runs"):
            await rt.compact_thread(thread.id)
        await rt.interrupt_turn(thread.id)
        await rt.compact_thread(thread.id)
        items = read_items(Path(thread.path or ""))
    assert sum(isinstance(i, Compacted) for i in items) == 1


def test_agents_md_skips_unreadable_files_and_caps_the_total(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    home.mkdir()
    (home / "AGENTS.md").write_bytes(b"\xff\xfe not utf-8")
    (project / "AGENTS.md").write_text("x" * (MAX_BYTES + 100))
    text = agents_md(home, str(project))
    assert text == "x" * MAX_BYTES
    assert agents_md(home, "relative/dir") is None
