"""A scripted Responses API server on 127.0.0.1, for the model driver's tests.

It answers ``POST .../responses`` from scripts and records every request (headers and
JSON body). Which script: the last ``[[S:name]]`` marker in the request's user messages.
Which step of it: the number of requests already made for that turn (the
``x-codex-turn-metadata`` header's ``turn_id``), so a retry gets the next step, as a
server that failed once and then recovered would. A step is one of:

- ``sse(events, cut=False, hang=False)``: stream the events; ``cut`` closes the
  connection after them without ``response.completed``, ``hang`` keeps it open silently;
- ``http(status, body, headers)``: an error answer;
- ``raw(data)``: bytes sent as the event stream as they are (malformed events).

The event builders (``message``, ``reasoning``, ``shell_call``, ``patch_call``,
``function_call``, ``completed``, ``failed``) write events the way the OpenAI server does.
Every connection is ``Connection: close``: simple, and a cut is just a close.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

Event = dict[str, Any]
_MARKER = re.compile(r"\[\[S:([A-Za-z0-9_.-]+)\]\]")


@dataclass(frozen=True)
class Step:
    """One answer to one request."""

    events: Sequence[Event] = ()
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cut: bool = False
    hang: bool = False
    raw: bytes | None = None
    delay: float = 0.0  # seconds between events


def sse(
    events: Sequence[Event], *, cut: bool = False, hang: bool = False, delay: float = 0.0
) -> Step:
    """Stream these events (then complete, cut or hang)."""
    return Step(events=events, cut=cut, hang=hang, delay=delay)


def http(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Step:
    """Answer with an HTTP error."""
    return Step(status=status, body=body, headers=dict(headers or {}))


def raw(data: bytes) -> Step:
    """Send these bytes as the event stream."""
    return Step(raw=data)


def message(
    text: str, *, phase: str | None = None, chunks: int = 1, item_id: str = "msg_1"
) -> list[Event]:
    """An assistant message streamed in ``chunks`` deltas, then done."""
    size = max(1, -(-len(text) // max(1, chunks)))
    deltas = [text[i : i + size] for i in range(0, len(text), size)]
    item: Event = {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    if phase is not None:
        item["phase"] = phase
    added = {**item, "status": "in_progress", "content": []}
    return [
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        *(
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": 0,
                "delta": d,
            }
            for d in deltas
        ),
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    ]


def reasoning(*summary: str, encrypted: str | None = None) -> list[Event]:
    """A finished reasoning item with these summary paragraphs."""
    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
        "encrypted_content": encrypted,
    }
    return [{"type": "response.output_item.done", "output_index": 0, "item": item}]


def function_call(name: str, arguments: Any, call_id: str) -> list[Event]:
    """A finished function call (``arguments`` JSON-encoded unless already a string)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    item = {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "name": name,
        "arguments": text,
        "call_id": call_id,
    }
    return [{"type": "response.output_item.done", "output_index": 0, "item": item}]


def shell_call(cmd: str, call_id: str) -> list[Event]:
    """The model runs ``cmd`` through ``exec_command`` (as Codex 0.105's model did)."""
    return function_call("exec_command", {"cmd": cmd, "yield_time_ms": 10000}, call_id)


def patch_call(patch: str, call_id: str) -> list[Event]:
    """The model calls the freeform ``apply_patch`` tool."""
    item = {
        "type": "custom_tool_call",
        "id": f"ctc_{call_id}",
        "call_id": call_id,
        "name": "apply_patch",
        "input": patch,
    }
    return [{"type": "response.output_item.done", "output_index": 0, "item": item}]


def completed(
    input_tokens: int = 100, output_tokens: int = 10, response_id: str = "resp_1"
) -> Event:
    """``response.completed`` with its usage."""
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    return {"type": "response.completed", "response": {"id": response_id, "usage": usage}}


def failed(message_text: str, code: str = "server_error") -> Event:
    """``response.failed`` with an error."""
    return {
        "type": "response.failed",
        "response": {"id": "resp_f", "error": {"code": code, "message": message_text}},
    }


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    script: str | None
    step: int


def _script_name(body: Mapping[str, Any]) -> str | None:
    name = None
    for item in body.get("input", []):
        if item.get("type") == "message" and item.get("role") == "user":
            for part in item.get("content", []):
                found = _MARKER.findall(str(part.get("text", "")))
                if found:
                    name = found[-1]
    return name


class ResponsesServer:
    """Serve ``scripts`` (name -> steps); ``requests`` lists what arrived, in order."""

    def __init__(
        self,
        scripts: Mapping[str, Sequence[Step]],
        default: Callable[[dict[str, Any]], Step] | None = None,
    ) -> None:
        self.scripts = dict(scripts)
        self.default = default
        self.requests: list[Recorded] = []
        self.port = 0
        self._per_turn: dict[str, int] = {}
        self.hanging = 0  # connections held open by a ``hang`` step right now

    @property
    def base_url(self) -> str:
        """What ``--base-url`` should say."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on a free loopback port and serve until cancelled."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self)
        await trio.serve_listeners(self._connection, listeners)

    async def _connection(self, stream: trio.SocketStream) -> None:
        async with stream:
            try:
                head, body = await _read_request(stream)
            except (trio.BrokenResourceError, ValueError):
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            path = request_line.split(" ")[1]
            headers = {}
            for line in header_lines:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            data = json.loads(body or b"{}")
            name = _script_name(data)
            turn = json.loads(headers.get("x-codex-turn-metadata", "{}")).get("turn_id", "")
            step_no = self._per_turn.get(turn, 0)
            self._per_turn[turn] = step_no + 1
            self.requests.append(Recorded(path, headers, data, name, step_no))
            steps = self.scripts.get(name or "")
            if steps is not None and step_no < len(steps):
                step = steps[step_no]
            elif self.default is not None:
                step = self.default(data)
            else:
                step = http(404, {"error": {"message": f"no step {step_no} of script {name}"}})
            try:
                await self._answer(stream, step)
            except trio.BrokenResourceError:
                return

    async def _answer(self, stream: trio.SocketStream, step: Step) -> None:
        if step.status != 200:
            payload = json.dumps(step.body if step.body is not None else {}).encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in step.headers.items())
            reason = {429: "Too Many Requests", 500: "Internal Server Error"}.get(
                step.status, "Error"
            )
            await stream.send_all(
                f"HTTP/1.1 {step.status} {reason}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\n{extra}connection: close\r\n\r\n".encode()
                + payload
            )
            return
        await stream.send_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"connection: close\r\n\r\n"
        )
        if step.raw is not None:
            await stream.send_all(step.raw)
            return
        events = list(step.events)
        if (
            not step.cut
            and not step.hang
            and not any(e["type"] in ("response.completed", "response.failed") for e in events)
        ):
            events.append(completed())
        for event in events:
            await stream.send_all(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
            if step.delay:
                await trio.sleep(step.delay)
        if step.hang:
            self.hanging += 1
            try:  # silent until the client goes away (a read sees its close)
                while await stream.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass
            finally:
                self.hanging -= 1


async def _read_request(stream: trio.SocketStream) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ValueError("connection closed before the request head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ValueError("connection closed inside the request body")
        body += chunk
    return head, body
