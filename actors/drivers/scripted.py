"""A deterministic scripted driver, for tests, the demo, fuzzing and ``serve --driver scripted``.

Script format (JSON). A script is a list of steps; each step is an object with a ``type``:

=========  =====================================================================
``say``    ``{"type":"say","text":"…","chunks":1,"phase":null}`` an assistant message,
           streamed in ``chunks`` deltas; ``{input}`` in the text is the user's text
``reason`` ``{"type":"reason","text":"…"}`` a reasoning summary paragraph
``exec``   ``{"type":"exec","command":["echo","hi"],"cwd":null,"timeout":null}`` run a
           command through the runtime's executor (approval and sandbox apply)
``patch``  ``{"type":"patch","changes":{"a.txt":{"type":"add","content":"x"}},"success":true}``
``tool``   ``{"type":"tool","tool":"lookup","arguments":{…}}`` call a dynamic tool
``tokens`` ``{"type":"tokens","input":100,"output":10}`` token usage of a request
``reroute`` ``{"type":"reroute","from_model":"a","to_model":"b","reason":"…"}``
``sleep``  ``{"type":"sleep","seconds":0.5}`` wait (an interrupt lands here)
``fail``   ``{"type":"fail","message":"…","info":"other"}`` end the turn ``failed``
=========  =====================================================================

Which script runs: a user text containing ``[[name]]`` runs the named script given to the
driver (e.g. from ``serve --script-file``); a text whose first line is ``#script`` runs the
JSON array of steps that follows it; any other text runs the default script, which answers
``Echo: {input}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import trio

from threadlog.actors.drivers.protocol import DriverError, TurnHandle, TurnRequest
from threadlog.events.ops import TextUserInput


class Say(msgspec.Struct, frozen=True, tag_field="type", tag="say"):
    """An assistant message."""

    text: str
    chunks: int = 1
    phase: str | None = None


class Reason(msgspec.Struct, frozen=True, tag_field="type", tag="reason"):
    """A reasoning summary paragraph."""

    text: str


class Exec(msgspec.Struct, frozen=True, tag_field="type", tag="exec"):
    """A command to run."""

    command: list[str]
    cwd: str | None = None
    timeout: float | None = None


class Patch(msgspec.Struct, frozen=True, tag_field="type", tag="patch"):
    """A patch to record."""

    changes: dict[str, Any]
    success: bool = True


class Tool(msgspec.Struct, frozen=True, tag_field="type", tag="tool"):
    """A dynamic tool call."""

    tool: str
    arguments: Any = None


class Tokens(msgspec.Struct, frozen=True, tag_field="type", tag="tokens"):
    """Token usage of one request."""

    input: int
    output: int


class Reroute(msgspec.Struct, frozen=True, tag_field="type", tag="reroute"):
    """A model reroute."""

    from_model: str
    to_model: str
    reason: str = "high_risk_cyber_activity"


class Sleep(msgspec.Struct, frozen=True, tag_field="type", tag="sleep"):
    """A pause."""

    seconds: float


class Fail(msgspec.Struct, frozen=True, tag_field="type", tag="fail"):
    """A model failure."""

    message: str
    info: Any = "other"


Step = Say | Reason | Exec | Patch | Tool | Tokens | Reroute | Sleep | Fail
Script = list[Step]

DEFAULT_SCRIPT: Script = [Say(text="Echo: {input}")]
_MARKER = re.compile(r"\[\[([A-Za-z0-9_.-]+)\]\]")
_script_decoder = msgspec.json.Decoder(Script)


class ScriptError(ValueError):
    """A script that does not parse."""


def parse_script(data: bytes | str) -> Script:
    """Parse a JSON array of steps; raises ``ScriptError`` with the reason."""
    try:
        return _script_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ScriptError(f"invalid script: {exc}") from None


def load_scripts(path: Path) -> dict[str, Script]:
    """Load a JSON object mapping script names to step arrays."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=dict[str, Script])
    except msgspec.DecodeError as exc:
        raise ScriptError(f"invalid script file {path}: {exc}") from None


def input_text(request: TurnRequest) -> str:
    """The user's text of a turn (text parts joined by newlines)."""
    return "\n".join(i.text for i in request.input if isinstance(i, TextUserInput))


def _chunks(text: str, count: int) -> list[str]:
    count = max(1, min(count, len(text) or 1))
    size = -(-len(text) // count) if text else 0
    return [text[i : i + size] for i in range(0, len(text), size)] if text else [""]


class ScriptedDriver:
    """Runs scripts chosen by the user's text; see the module docstring for the format."""

    def __init__(
        self, scripts: Mapping[str, Script] | None = None, default: Sequence[Step] | None = None
    ) -> None:
        self.scripts = dict(scripts or {})
        self.default = list(default if default is not None else DEFAULT_SCRIPT)

    def select(self, text: str) -> Script:
        """The script a user text runs."""
        first, _, rest = text.partition("\n")
        if first.strip() == "#script":
            return parse_script(rest)
        for name in _MARKER.findall(text):
            if name in self.scripts:
                return self.scripts[name]
        return self.default

    async def run_turn(self, request: TurnRequest, turn: TurnHandle) -> None:
        """Play the selected script against the turn."""
        text = input_text(request)
        try:
            script = self.select(text)
        except ScriptError as exc:
            raise DriverError(str(exc), "bad_request") from None
        for step in script:
            await self._play(step, text, turn)

    async def _play(self, step: Step, text: str, turn: TurnHandle) -> None:
        if isinstance(step, Say):
            for piece in _chunks(step.text.replace("{input}", text), step.chunks):
                await turn.agent_message_delta(piece)
            await turn.agent_message_end(step.phase)
        elif isinstance(step, Reason):
            await turn.reasoning(step.text)
        elif isinstance(step, Exec):
            await turn.exec_command(step.command, cwd=step.cwd, timeout=step.timeout)
        elif isinstance(step, Patch):
            await turn.record_patch(step.changes, success=step.success)
        elif isinstance(step, Tool):
            await turn.call_dynamic_tool(step.tool, step.arguments)
        elif isinstance(step, Tokens):
            await turn.token_count(step.input, step.output)
        elif isinstance(step, Reroute):
            await turn.model_rerouted(step.from_model, step.to_model, step.reason)
        elif isinstance(step, Sleep):
            await trio.sleep(step.seconds)
        else:
            raise DriverError(step.message, step.info)
