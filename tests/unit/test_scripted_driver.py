"""The scripted driver: script format, selection, and what it makes a turn record."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.runtime_helpers import live_equals_log, open_runtime, script, text
from threadlog.actors.drivers.protocol import TurnRequest
from threadlog.actors.drivers.scripted import (
    DEFAULT_SCRIPT,
    Say,
    ScriptedDriver,
    ScriptError,
    Sleep,
    load_scripts,
    parse_script,
)
from threadlog.events.ops import TextUserInput
from threadlog.events.thread_items import CommandExecutionItem, FileChangeItem, ReasoningItem


def test_scripts_parse_and_bad_ones_are_clear_errors() -> None:
    assert parse_script('[{"type":"say","text":"hi"},{"type":"sleep","seconds":1}]') == [
        Say(text="hi"),
        Sleep(seconds=1),
    ]
    for bad in ("not json", '[{"type":"dance"}]', '{"type":"say"}', '[{"type":"say"}]'):
        with pytest.raises(ScriptError, match="invalid script"):
            parse_script(bad)


def test_selection_by_marker_inline_and_default(tmp_path: Path) -> None:
    (tmp_path / "scripts.json").write_text('{"greet": [{"type": "say", "text": "hello!"}]}')
    driver = ScriptedDriver(load_scripts(tmp_path / "scripts.json"))
    assert driver.select("please [[greet]] me") == [Say(text="hello!")]
    assert driver.select("#script\n[]") == []
    assert driver.select("[[unknown]] falls back") == DEFAULT_SCRIPT
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ScriptError):
        load_scripts(tmp_path / "bad.json")


def test_request_text_is_the_joined_text_inputs() -> None:
    request = TurnRequest(
        thread_id="t",
        turn_id="u",
        input=[TextUserInput("a"), TextUserInput("b")],
        cwd="/",
        model="m",
    )
    from threadlog.actors.drivers.scripted import input_text

    assert input_text(request) == "a\nb"


async def test_a_scripted_turn_records_every_kind_of_output(tmp_path: Path) -> None:
    async with open_runtime(tmp_path) as rt:
        thread = await rt.start_thread(persist_extended_history=True)
        steps = [
            {"type": "reason", "text": "plan"},
            {"type": "exec", "command": ["sh", "-c", "echo out; exit 3"]},
            {"type": "patch", "changes": {"a.txt": {"type": "add", "content": "x"}}},
            {"type": "tokens", "input": 3, "output": 4},
            {"type": "say", "text": "{input} done", "chunks": 3},
        ]
        await rt.start_turn(thread.id, script(steps))
        await rt.wait_turn(thread.id)
        live = await rt.read_thread(thread.id, include_turns=True)
        kinds = [type(i) for i in live.turns[0].items]
        assert ReasoningItem in kinds and FileChangeItem in kinds
        command = next(i for i in live.turns[0].items if isinstance(i, CommandExecutionItem))
        assert (command.exit_code, command.status, command.aggregated_output) == (
            3,
            "failed",
            "out\n",
        )
        assert live.turns[0].items[-1].text.endswith(" done")  # type: ignore[union-attr]
        assert live_equals_log(live)
        bad = await rt.start_turn(thread.id, text("#script\nnot json"))
        await rt.wait_turn(thread.id)
        failed = await rt.read_thread(thread.id, include_turns=True)
        turn = next(t for t in failed.turns if t.id == bad.id)
        assert turn.status == "failed" and turn.error is not None
        assert "invalid script" in turn.error.message
