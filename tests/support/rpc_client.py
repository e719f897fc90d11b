"""A JSON-RPC client for ``threadlog serve`` running as a real subprocess."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import trio

REPO = Path(__file__).resolve().parents[2]


class RpcClient:
    """Talks to one ``threadlog serve`` process; collects its notifications."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.ids = itertools.count(1)
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self._buffer = b""

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        assert self.process.stdin is not None
        await self.process.stdin.send_all(data)

    async def read_message(self) -> dict[str, Any]:
        """The next message from the server."""
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some(1 << 16)
            if not chunk:
                raise EOFError("server closed its output")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = msgspec.json.decode(line)
        return message

    async def response(self, request_id: Any) -> dict[str, Any]:
        """Read until the response to ``request_id``, keeping notifications."""
        while True:
            message = await self.read_message()
            if "method" in message and "id" in message:
                self.server_requests.append(message)
            elif "method" in message:
                self.notifications.append(message)
            elif message.get("id") == request_id:
                return message

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        """Send a request and return the whole response message."""
        request_id = next(self.ids)
        body: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        await self.send_raw(msgspec.json.encode(body) + b"\n")
        with trio.fail_after(30):
            return await self.response(request_id)

    async def result(self, method: str, params: Any = None) -> Any:
        """Send a request; its result (fails on an error response)."""
        message = await self.call(method, params)
        assert "result" in message, message
        return message["result"]

    async def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        body: dict[str, Any] = {"method": method}
        if params is not None:
            body["params"] = params
        await self.send_raw(msgspec.json.encode(body) + b"\n")

    async def server_request(self, method: str) -> dict[str, Any]:
        """The next server-to-client request of ``method`` not yet taken."""
        with trio.fail_after(30):
            while True:
                for index, request in enumerate(self.server_requests):
                    if request["method"] == method:
                        return self.server_requests.pop(index)
                message = await self.read_message()
                if "method" in message and "id" in message:
                    self.server_requests.append(message)
                elif "method" in message:
                    self.notifications.append(message)

    async def respond(self, request_id: Any, result: Any) -> None:
        """Answer a server-to-client request."""
        await self.send_raw(msgspec.json.encode({"id": request_id, "result": result}) + b"\n")

    async def until(self, method: str, count: int = 1) -> list[dict[str, Any]]:
        """Read until ``count`` notifications of ``method`` have arrived in all."""
        with trio.fail_after(30):
            while sum(n["method"] == method for n in self.notifications) < count:
                message = await self.read_message()
                if "method" in message and "id" in message:
                    self.server_requests.append(message)
                elif "method" in message:
                    self.notifications.append(message)
        return [n for n in self.notifications if n["method"] == method]

    async def initialize(self) -> Any:
        """The handshake."""
        result = await self.result("initialize", {"clientInfo": {"name": "tests", "version": "1"}})
        await self.notify("initialized")
        return result


@asynccontextmanager
async def start_server(
    home: Path, *extra: str, transcript: Path | None = None
) -> AsyncIterator[trio.Process]:
    """``threadlog serve`` on ``home``; killed on exit if it is still running.

    With ``transcript``, serve records every message there (``--transcript``), for
    ``tests.support.schemas`` to check.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if transcript is not None:
        extra = (*extra, "--transcript", str(transcript))
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "threadlog.actors.cli.main", "serve", "--home", str(home), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=str(home),
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


async def close_server(process: trio.Process) -> None:
    """End a server the way a client does: close its stdin, then wait for it to exit."""
    assert process.stdin is not None
    await process.stdin.aclose()
    with trio.fail_after(20):
        await process.wait()
