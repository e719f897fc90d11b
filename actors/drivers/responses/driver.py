"""The Responses API driver: a turn as Codex runs one, over streaming HTTP.

Each step sends the model-visible history (``turn.model_input()``: what the log holds,
this turn's tool calls and outputs included) and streams the answer: text deltas go to
the turn as they arrive, finished reasoning and messages are recorded whole, tool calls
are kept until the response completes and then run through the runtime (approval,
sandbox, executor, the host for dynamic tools). Their outputs go back in the next
request, until the model answers without a tool call.

Only a completed response's tool calls run: a stream cut after a call was announced
leaves no call without its output, which the next request could not carry. What was
streamed before a failure stays (a partial message is recorded, as Codex keeps it).
HTTP goes through ``httpx`` (which runs under trio through anyio); the events are framed
a network read at a time (``sse``), and the text deltas of one read reach the turn as one
delta. ``turn/interrupt`` is trio cancellation, which closes the request at once.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
import trio

from threadlog.actors.drivers.protocol import DriverError, TurnHandle, TurnRequest
from threadlog.actors.drivers.responses import failures
from threadlog.actors.drivers.responses.config import ConfigError, ModelConfig, api_key
from threadlog.actors.drivers.responses.failures import ModelFailure
from threadlog.actors.drivers.responses.sse import SseDecoder, SseError
from threadlog.actors.drivers.responses.stream import (
    Completed,
    Failed,
    ItemDone,
    StreamError,
    TextDelta,
    read_event,
)
from threadlog.actors.drivers.responses.wire import request_body
from threadlog.events.response_items import (
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    Message,
    Reasoning,
)
from threadlog.events.truncate import truncate_middle

ERROR_BODY_LIMIT = 64 * 1024  # of a non-2xx answer, enough to hold any error JSON
DEFAULT_COMMAND_TIMEOUT = 600.0
ToolCall = FunctionCall | CustomToolCall


class _AttemptFailed(Exception):
    def __init__(self, failure: ModelFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def exec_output(exit_code: int, output: str, seconds: float, chunk_id: str) -> str:
    """What ``exec_command`` tells the model, in Codex 0.105's unified-exec shape."""
    tokens = math.ceil(len(output.encode()) / 4)
    return (
        f"Chunk ID: {chunk_id}\nWall time: {seconds:.4f} seconds\n"
        f"Process exited with code {exit_code}\nOriginal token count: {tokens}\n"
        f"Output:\n{truncate_middle(output)}"
    )


class ResponsesDriver:
    """Drives turns against a Responses API server (OpenAI or compatible)."""

    def __init__(
        self,
        config: ModelConfig,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self._environ = environ if environ is not None else os.environ
        self._transport = transport
        self._jitter = jitter or (lambda: random.uniform(0.9, 1.1))

    @property
    def url(self) -> str:
        """The ``/responses`` endpoint with the provider's query parameters."""
        provider = self.config.provider
        url = provider.base_url.rstrip("/") + "/responses"
        return f"{url}?{urlencode(provider.query_params)}" if provider.query_params else url

    def _headers(self, request: TurnRequest) -> dict[str, str]:
        try:
            key = api_key(self.config.provider, self._environ)
        except ConfigError as exc:
            raise DriverError(str(exc), "unauthorized") from None
        headers = {
            "accept": "text/event-stream",
            "content-type": "application/json",
            "originator": "threadlog",
            "session_id": request.thread_id,
            "x-codex-turn-metadata": json.dumps({"turn_id": request.turn_id}),
            **self.config.provider.http_headers,
        }
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return headers

    async def run_turn(self, request: TurnRequest, turn: TurnHandle) -> None:
        """Sample, run the tools the model called, and sample again until it answers."""
        headers = self._headers(request)
        idle = self.config.provider.stream_idle_timeout_ms / 1000
        timeout = httpx.Timeout(30.0, read=idle)
        async with httpx.AsyncClient(timeout=timeout, transport=self._transport) as client:
            while True:
                calls = await self._sample(client, headers, request, turn)
                if not calls:
                    return
                for call in calls:
                    await self._run_tool(call, request, turn)

    def _body(self, request: TurnRequest, turn: TurnHandle) -> bytes:
        body = request_body(
            model=request.model,
            history=turn.model_input(),
            dynamic_tools=request.dynamic_tools,
            effort=request.effort or self.config.reasoning_effort,
            summary=self.config.reasoning_summary,
            cache_key=request.thread_id,
        )
        return msgspec.json.encode(body)

    async def _sample(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        request: TurnRequest,
        turn: TurnHandle,
    ) -> list[ToolCall]:
        """One model response, retried within the provider's budgets."""
        provider = self.config.provider
        budgets = {"request": provider.request_max_retries, "stream": provider.stream_max_retries}
        used = {"request": 0, "stream": 0}
        while True:
            try:
                return await self._attempt(client, headers, self._body(request, turn), turn)
            except _AttemptFailed as exc:
                failure = exc.failure
            await turn.agent_message_end()  # what streamed before the failure stays
            if not failure.retryable or used[failure.budget] >= budgets[failure.budget]:
                raise DriverError(failure.message, failure.info)
            used[failure.budget] += 1
            delay = failure.retry_after
            if delay is None:
                delay = failures.backoff(used[failure.budget], self._jitter())
            await trio.sleep(delay)

    async def _attempt(
        self, client: httpx.AsyncClient, headers: dict[str, str], body: bytes, turn: TurnHandle
    ) -> list[ToolCall]:
        try:
            async with client.stream("POST", self.url, content=body, headers=headers) as resp:
                if resp.status_code >= 300:
                    data = b""
                    async for chunk in resp.aiter_bytes():
                        data += chunk
                        if len(data) >= ERROR_BODY_LIMIT:
                            break
                    failure = failures.http_failure(
                        resp.status_code, data, resp.headers.get("retry-after")
                    )
                    raise _AttemptFailed(failure)
                kind = resp.headers.get("content-type", "")
                if not kind.startswith("text/event-stream"):
                    reason = f"expected text/event-stream, got {kind or 'no content-type'}"
                    raise _AttemptFailed(failures.stream_failure(reason))
                return await self._read_stream(resp, turn)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
            raise _AttemptFailed(failures.connection_failure(self.url, str(exc))) from None
        except httpx.ReadTimeout:
            raise _AttemptFailed(failures.idle_failure()) from None
        except (httpx.TransportError, SseError) as exc:
            raise _AttemptFailed(failures.stream_failure(f"{type(exc).__name__}: {exc}")) from None

    async def _read_stream(self, resp: httpx.Response, turn: TurnHandle) -> list[ToolCall]:
        calls: list[ToolCall] = []
        decoder = SseDecoder()
        streamed = False  # deltas of the current message arrived
        async for chunk in resp.aiter_bytes():
            text: list[str] = []  # this read's deltas, handed over as one
            for data in decoder.feed(chunk):
                try:
                    event = read_event(data)
                except StreamError as exc:
                    raise _AttemptFailed(failures.stream_failure(str(exc))) from None
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    continue
                if text:
                    await turn.agent_message_delta("".join(text))
                    streamed, text = True, []
                if isinstance(event, ItemDone):
                    item = event.item
                    if isinstance(item, Message):
                        if not streamed:  # a server that sends a message only whole
                            whole = "".join(getattr(part, "text", "") for part in item.content)
                            await turn.agent_message_delta(whole)
                        streamed = False
                        await turn.agent_message_end(item.phase)
                    elif isinstance(item, Reasoning):
                        await turn.reasoning_item(item)
                    elif isinstance(item, FunctionCall | CustomToolCall):
                        calls.append(item)
                elif isinstance(event, Completed):
                    await turn.agent_message_end()
                    if event.input_tokens or event.output_tokens:
                        await turn.token_count(event.input_tokens, event.output_tokens)
                    return calls
                elif isinstance(event, Failed):
                    raise _AttemptFailed(failures.response_failed(event.code, event.message))
            if text:
                await turn.agent_message_delta("".join(text))
                streamed = True
        raise _AttemptFailed(failures.stream_failure())

    async def _run_tool(self, call: ToolCall, request: TurnRequest, turn: TurnHandle) -> None:
        if isinstance(call, CustomToolCall):
            if call.name == "apply_patch":
                await turn.apply_patch(call)
                return
            await turn.record_output(call)
            output = f"unsupported custom tool call: {call.name}"
            await turn.record_output(CustomToolCallOutput(call_id=call.call_id, output=output))
            return
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            await turn.record_output(call)
            output = f"failed to parse function arguments: {exc}"
            await turn.record_output(FunctionCallOutput(call_id=call.call_id, output=output))
            return
        dynamic = {spec.name for spec in request.dynamic_tools}
        if call.name == "exec_command" and isinstance(arguments, dict):
            await self._exec(call, arguments, request, turn)
        elif call.name in dynamic:
            await turn.call_dynamic_tool(call.name, arguments, call=call)
        elif call.name == "update_plan":
            plan = plan_of(arguments)
            if isinstance(plan, str):
                await turn.record_output(call)
                await turn.record_output(FunctionCallOutput(call_id=call.call_id, output=plan))
            else:
                explanation = arguments.get("explanation")
                shown = explanation if isinstance(explanation, str) else None
                await turn.update_plan(call, plan, shown)
        else:
            await turn.record_output(call)
            await turn.record_output(_unsupported(call.call_id, call.name))

    async def _exec(
        self, call: FunctionCall, arguments: dict[str, Any], request: TurnRequest, turn: TurnHandle
    ) -> None:
        cmd = arguments.get("cmd")
        if not isinstance(cmd, str) or not cmd.strip():
            await turn.record_output(call)
            output = "failed to parse function arguments: missing field `cmd`"
            await turn.record_output(FunctionCallOutput(call_id=call.call_id, output=output))
            return
        workdir = arguments.get("workdir")
        cwd = os.path.join(request.cwd, workdir) if isinstance(workdir, str) and workdir else None
        timeout_ms = arguments.get("timeout_ms")
        timeout = (
            timeout_ms / 1000 if isinstance(timeout_ms, int | float) and timeout_ms > 0 else None
        )
        result = await turn.exec_command(
            ["/bin/bash", "-lc", cmd],
            cwd=cwd,
            timeout=timeout or DEFAULT_COMMAND_TIMEOUT,
            call=call,
        )
        if result.status == "declined":
            output = "exec command rejected by user"
        else:
            output = exec_output(
                result.exit_code, result.output, result.duration_ms / 1000, secrets.token_hex(3)
            )
        await turn.record_output(FunctionCallOutput(call_id=call.call_id, output=output))


_PLAN_STATUSES = ("pending", "in_progress", "completed")


def plan_of(arguments: Any) -> list[dict[str, str]] | str:
    """The steps of an ``update_plan`` call, or what is wrong with its arguments."""
    plan = arguments.get("plan") if isinstance(arguments, dict) else None
    if not isinstance(plan, list):
        return "failed to parse function arguments: missing field `plan`"
    steps = []
    for entry in plan:
        step = entry.get("step") if isinstance(entry, dict) else None
        status = entry.get("status") if isinstance(entry, dict) else None
        if not isinstance(step, str) or status not in _PLAN_STATUSES:
            return (
                "failed to parse function arguments: each plan entry needs a `step` and a "
                "`status` of pending, in_progress or completed"
            )
        steps.append({"step": step, "status": str(status)})
    return steps


def _unsupported(call_id: str, name: str) -> FunctionCallOutput:
    return FunctionCallOutput(call_id=call_id, output=f"unsupported call: {name}")
