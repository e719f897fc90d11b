"""``threadlog serve``: the app-server v2 protocol over stdio (JSON-RPC 2.0, one per line).

Requests are served concurrently: each runs in its own task, so a long turn never blocks a
``thread/list``. ``initialize`` and notifications are handled in arrival order, so a client
that pipelines its handshake is never told ``Not initialized``. Bad input never stops the
server: invalid JSON gets -32700, an unknown method -32601, bad params -32602, an invalid
request or a request before ``initialize`` -32600, and a line over the size limit is
answered and skipped. When stdin closes, the server stops reading, ends running turns
(recorded as interrupted) and flushes every log before exiting.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, Protocol

import msgspec
import trio

from threadlog.actors.drivers.protocol import DynamicToolResult
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.server import jsonrpc as rpc
from threadlog.actors.server.realtime import realtime_handlers
from threadlog.actors.server.session_methods import session_handlers
from threadlog.actors.server.thread_methods import ThreadMethods
from threadlog.actors.server.transcript import ConnectionTranscript
from threadlog.events import __version__
from threadlog.events.errors import LogFullError, ThreadError
from threadlog.projections.item_mapping import join_command
from threadlog.store.lazylog import get_logger

MAX_LINE: Final = 64 << 20
ERROR_CODES: Final[tuple[tuple[type[ThreadError], int], ...]] = (
    (LogFullError, rpc.INTERNAL_ERROR),  # the server's trouble, not the request's
    (ThreadError, rpc.INVALID_REQUEST),
)
"""The JSON-RPC code each error class is answered with (first match wins). Codex's
app-server answers every thread-level refusal with -32600 and the condition in its message;
a subclass listed before its base would get a code of its own."""
log = get_logger("threadlog.serve")
Handler = Callable[[Any], Awaitable[Any]]


async def read_lines(stream: trio.abc.ReceiveStream, max_line: int) -> AsyncIterator[bytes | None]:
    """Lines of a byte stream; ``None`` stands for a line that exceeded ``max_line``."""
    buffer = bytearray()
    skipping = False
    while True:
        chunk = await stream.receive_some(1 << 16)
        if not chunk:
            if buffer.strip() and not skipping:
                yield bytes(buffer)
            return
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                if not skipping:
                    buffer += chunk[start:]
                    if len(buffer) > max_line:
                        buffer.clear()
                        skipping = True
                        yield None
                break
            if skipping:
                skipping = False
            else:
                buffer += chunk[start:newline]
                if len(buffer) > max_line:
                    yield None
                elif buffer.strip():
                    yield bytes(buffer)
                buffer.clear()
            start = newline + 1


def error_code(exc: ThreadError) -> int:
    """The JSON-RPC error code for a thread API error."""
    return next(code for cls, code in ERROR_CODES if isinstance(exc, cls))


class LineSink(Protocol):
    """Where a connection's outgoing messages go (a byte stream, or a WebSocket adapter)."""

    async def send_all(self, data: bytes) -> None:
        """Send one encoded message (a JSON line ending in ``\\n``)."""
        ...


class Server:
    """One client connection (stdio, a Unix socket, a WebSocket) to one runtime."""

    def __init__(
        self,
        runtime: Runtime,
        out: LineSink,
        *,
        max_line: int = MAX_LINE,
        transcript: ConnectionTranscript | None = None,
    ) -> None:
        self.runtime = runtime
        self.out = out
        self.transcript = transcript
        self.max_line = max_line
        self.initialized = False
        self.opted_out: frozenset[str] = frozenset()
        self._gone = False
        self._input_closed = False
        self._write_lock = trio.Lock()
        self._request_ids = itertools.count(1)
        self._pending: dict[int, trio.MemorySendChannel[rpc.Response]] = {}
        self.threads = ThreadMethods(runtime, host=self)
        self.handlers: dict[str, Handler] = {
            **self.threads.handlers(),
            **realtime_handlers(runtime),
            **session_handlers(runtime),
        }

    # --- the connection ----------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Write one line (whole, never interleaved); to a client that is gone, nothing.

        A closed connection is the client's business: what it no longer reads is dropped,
        and nothing of it reaches the runtime or the other connections.
        """
        if self._gone:
            return
        async with self._write_lock:
            if self.transcript is not None:
                self.transcript.record("out", data)
            try:
                await self.out.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._gone = True

    async def serve(self, stream: trio.abc.ReceiveStream) -> None:
        """Serve a byte stream of JSON lines until it ends."""
        await self.serve_messages(read_lines(stream, self.max_line))

    async def serve_messages(self, messages: AsyncIterator[bytes | None]) -> None:
        """Serve messages (``None``: one that was too big) until they end.

        When the client goes, the turns it started go on (they are the runtime's); what it
        was asked and can no longer answer gets an error answer, so no turn waits for it.
        """
        async with trio.open_nursery() as nursery, self.runtime.subscribe() as notes:
            nursery.start_soon(self._forward, notes)
            async with trio.open_nursery() as requests:
                async for line in messages:
                    if line is None:
                        await self.send(
                            rpc.encode_error(
                                None,
                                rpc.INVALID_REQUEST,
                                f"Invalid request: line exceeds {self.max_line} bytes",
                            )
                        )
                        continue
                    await self._dispatch(line, requests)
                # Input closed: answer what is in flight, then stop.
                for channel in list(self._pending.values()):
                    channel.close()
                self._input_closed = True
            nursery.cancel_scope.cancel()

    async def _forward(self, notes: trio.MemoryReceiveChannel[Any]) -> None:
        async for note in notes:
            if (
                self.initialized
                and note.method not in self.opted_out
                and self.threads.wants(note.thread_id)
            ):
                await self.send(
                    rpc.encode_notification(note.method, msgspec.to_builtins(note.params))
                )

    async def _dispatch(self, line: bytes, requests: trio.Nursery) -> None:
        """Route one message; whatever goes wrong is answered and logged, never raised
        (one bad message must not end the session)."""
        if self.transcript is not None:
            self.transcript.record("in", line)
        try:
            await self._route(line, requests)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise
        except Exception:
            log.exception("message_failed")
            await self.send(rpc.encode_error(None, rpc.INTERNAL_ERROR, "internal error"))

    async def _route(self, line: bytes, requests: trio.Nursery) -> None:
        try:
            message = rpc.parse_message(line)
        except rpc.RpcError as exc:
            await self.send(rpc.encode_error(exc.id, exc.code, exc.message))
            return
        if isinstance(message, rpc.Response):
            channel = self._pending.pop(message.id, None) if isinstance(message.id, int) else None
            if channel is None:
                log.warning("response_to_unknown_request", id=message.id)
            else:
                channel.send_nowait(message)
            return
        if isinstance(message, rpc.Notification):
            if message.method == "initialized":
                return
            log.info("client_notification_ignored", method=message.method)
            return
        if message.method == "initialize":
            await self._initialize(message)
            return
        if not self.initialized:
            await self.send(rpc.encode_error(message.id, rpc.INVALID_REQUEST, "Not initialized"))
            return
        requests.start_soon(self._handle, message)

    async def _initialize(self, request: rpc.Request) -> None:
        if self.initialized:
            await self.send(
                rpc.encode_error(request.id, rpc.INVALID_REQUEST, "Already initialized")
            )
            return
        info = (
            (request.params or {}).get("clientInfo") if isinstance(request.params, dict) else None
        )
        if not isinstance(info, dict) or not isinstance(info.get("name"), str):
            await self.send(
                rpc.encode_error(
                    request.id, rpc.INVALID_PARAMS, "Invalid params: missing field `clientInfo`"
                )
            )
            return
        client = f"{info['name']}; {info.get('version', '')}"
        agent = f"threadlog/{__version__} ({platform.system()}; {platform.machine()}) ({client})"
        self.initialized = True
        capabilities = (
            request.params.get("capabilities") if isinstance(request.params, dict) else None
        )
        opted = (
            capabilities.get("optOutNotificationMethods")
            if isinstance(capabilities, dict)
            else None
        )
        if isinstance(opted, list):
            # the notifications this client asked not to get (0.171's initialize capability)
            self.opted_out = frozenset(m for m in opted if isinstance(m, str))
        answer = {
            "userAgent": agent,
            # what 0.171 adds: where the threads live and the platform
            "codexHome": str(self.runtime.home),
            "platformFamily": "windows" if os.name == "nt" else "unix",
            "platformOs": sys.platform if sys.platform != "darwin" else "macos",
        }
        await self.send(rpc.encode_result(request.id, answer))

    async def _handle(self, request: rpc.Request) -> None:
        await self.runtime.ready.wait()  # initialize is answered before the index opens
        await self._answer(request)

    async def _answer(self, request: rpc.Request) -> None:
        handler = self.handlers.get(request.method)
        if handler is None:
            await self.send(
                rpc.encode_error(
                    request.id, rpc.METHOD_NOT_FOUND, f"Method not found: {request.method}"
                )
            )
            return
        try:
            result = await handler(request.params if request.params is not None else {})
            answer = rpc.encode_result(request.id, result)
        except msgspec.ValidationError as exc:
            await self.send(
                rpc.encode_error(request.id, rpc.INVALID_PARAMS, f"Invalid params: {exc}")
            )
        except ThreadError as exc:
            await self.send(rpc.encode_error(request.id, error_code(exc), exc.message))
        except ValueError as exc:
            await self.send(
                rpc.encode_error(request.id, rpc.INVALID_PARAMS, f"Invalid params: {exc}")
            )
        except RecursionError:
            await self.send(
                rpc.encode_error(
                    request.id, rpc.INVALID_PARAMS, "Invalid params: nested too deeply"
                )
            )
        except Exception as exc:
            log.exception("request_failed", method=request.method)
            await self.send(
                rpc.encode_error(request.id, rpc.INTERNAL_ERROR, f"internal error: {exc}")
            )
        else:
            await self.send(answer)

    # --- server -> client requests -----------------------------------------------------

    async def _ask_client(self, method: str, params: dict[str, Any]) -> rpc.Response:
        """Send a request to the client and wait for its response."""
        request_id = next(self._request_ids)
        gone = rpc.Response(
            id=request_id, result=None, error={"code": -32000, "message": "the client is gone"}
        )
        if self._gone or self._input_closed:
            return gone
        send, receive = trio.open_memory_channel[rpc.Response](1)
        self._pending[request_id] = send
        try:
            await self.send(rpc.encode_request(request_id, method, params))
            return await receive.receive()
        except (trio.EndOfChannel, trio.BrokenResourceError, trio.ClosedResourceError):
            return gone
        finally:
            self._pending.pop(request_id, None)

    async def call_dynamic_tool(
        self, thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any
    ) -> DynamicToolResult:
        """Send ``item/tool/call`` to the client and wait for its answer."""
        params = {
            "threadId": thread_id,
            "turnId": turn_id,
            "callId": call_id,
            "tool": tool,
            "arguments": arguments,
        }
        response = await self._ask_client("item/tool/call", params)
        if response.error is not None:
            message = response.error.get("message") if isinstance(response.error, dict) else None
            return DynamicToolResult(success=False, error=str(message or response.error))
        result = response.result if isinstance(response.result, dict) else {}
        items = result.get("contentItems")
        return DynamicToolResult(
            success=bool(result.get("success", False)),
            content_items=items if isinstance(items, list) else [],
        )

    async def request_approval(
        self, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
    ) -> str:
        """Send ``item/commandExecution/requestApproval``; anything but a decision declines."""
        params = {
            "threadId": thread_id,
            "turnId": turn_id,
            "itemId": call_id,
            "command": join_command(command),
            "cwd": cwd,
        }
        response = await self._ask_client("item/commandExecution/requestApproval", params)
        result = response.result if isinstance(response.result, dict) else {}
        decision = result.get("decision")
        if isinstance(decision, dict) and any(str(k).startswith("accept") for k in decision):
            return "accept"  # accept with an execpolicy amendment: runs this once here
        return decision if isinstance(decision, str) else "decline"
