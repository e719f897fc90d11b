"""Where ``serve`` listens: stdio, a Unix socket, a WebSocket; one JSON-RPC session each.

``--listen`` takes the forms ``codex app-server --listen`` takes: ``stdio://`` (the
default, JSON lines), ``unix://PATH`` (``unix://`` alone: ``$CODEX_HOME/app-server.sock``)
and ``ws://IP:PORT``; as with Codex, the Unix socket speaks WebSocket too. Every connection
is its own session (its own ``initialize``, subscriptions and server requests) over the one
runtime. A WebSocket carries one JSON-RPC message per text frame (trio-websocket speaks
the protocol; a compression offer is declined by not accepting the extension, as RFC 7692
allows).

A Unix socket is created 0600 in a 0700 directory; a stale socket file (nobody listening)
is replaced, a live one is refused. A WebSocket listens on loopback unless
``--allow-remote`` says otherwise, and then says so in the log.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal, cast

import msgspec
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    WebSocketServer,
    serve_websocket,
)

from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.server.connection import Server
from threadlog.actors.server.transcript import ConnectionTranscript, Transcript
from threadlog.store.layout import make_private_dirs
from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.serve")

Kind = Literal["stdio", "unix", "ws"]
DEFAULT_SOCKET: Final = "app-server.sock"
MAX_FRAME: Final = 16 << 20
"""The largest WebSocket message a client may send (a bigger one closes its connection)."""


class ListenError(ValueError):
    """A ``--listen`` address threadlog cannot or will not serve."""


class Listen(msgspec.Struct, frozen=True):
    """A parsed ``--listen`` address."""

    kind: Kind
    path: str = ""
    host: str = ""
    port: int = 0


def parse_listen(url: str, home: Path, *, allow_remote: bool = False) -> Listen:
    """``stdio://``, ``unix://[PATH]`` or ``ws://IP:PORT``; ``ListenError`` otherwise."""
    if url in ("stdio://", "stdio", "-"):
        return Listen("stdio")
    if url.startswith("unix://"):
        path = url[len("unix://") :] or str(home / DEFAULT_SOCKET)
        return Listen("unix", path=os.path.abspath(path))
    if url.startswith("ws://"):
        host, sep, port = url[len("ws://") :].rstrip("/").rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ListenError(f"--listen {url}: expected ws://IP:PORT")
        host = host.strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ListenError(f"--listen {url}: {host!r} is not an IP address") from None
        if not address.is_loopback and not allow_remote:
            raise ListenError(
                f"--listen {url}: {host} is not a loopback address; "
                "give --allow-remote to accept connections from other machines"
            )
        return Listen("ws", host=host, port=int(port))
    if url.startswith("wss://"):
        raise ListenError("--listen wss:// is not served: put a TLS proxy in front of ws://")
    raise ListenError(f"--listen {url}: expected stdio://, unix://PATH or ws://IP:PORT")


def _recorder(transcript: Transcript | None) -> ConnectionTranscript | None:
    return transcript.connection() if transcript is not None else None


async def serve_stdio(runtime: Runtime, *, transcript: Transcript | None = None) -> None:
    """One session on stdin/stdout, until stdin closes."""
    stdin = trio.lowlevel.FdStream(os.dup(0))
    stdout = trio.lowlevel.FdStream(os.dup(1))
    async with stdin, stdout:
        await Server(runtime, stdout, transcript=_recorder(transcript)).serve(stdin)


def _claim_socket_path(path: Path) -> None:
    """Replace a stale socket file; refuse a live socket or anything that is not one."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ListenError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink()  # stale: nobody listens on it
        return
    finally:
        probe.close()
    raise ListenError(f"{path} is in use by a running server")


async def serve_unix(
    runtime: Runtime,
    path: Path,
    *,
    transcript: Transcript | None = None,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Sessions on a Unix socket (0600, in a 0700 directory) until cancelled."""
    make_private_dirs(path.parent)
    _claim_socket_path(path)
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket file is born 0600
    try:
        await sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    log.info("listening", url=f"unix://{path}")
    listener = cast(Any, _UnixListener(trio.SocketListener(sock)))
    server = WebSocketServer(
        partial(_ws_session, runtime, transcript), [listener], max_message_size=MAX_FRAME
    )
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            task_status.started(path)
    finally:
        with trio.CancelScope(shield=True):
            if path.exists():
                path.unlink()


class _UnixListener(trio.abc.Listener[trio.SocketStream]):
    """A Unix socket's listener, wrapped so trio-websocket (which reads a TCP socket's
    host and port off the listeners it knows) names it by its repr."""

    def __init__(self, inner: trio.SocketListener) -> None:
        self.inner = inner

    async def accept(self) -> trio.SocketStream:
        """The next connection."""
        return await self.inner.accept()

    async def aclose(self) -> None:
        """Stop listening."""
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"unix://{self.inner.socket.getsockname()}"


class _WebSocketSink:
    """A connection's outgoing lines as WebSocket text frames (one message each)."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws

    async def send_all(self, data: bytes) -> None:
        """Send one message; a closed connection reads as a broken stream."""
        try:
            await self.ws.send_message(data.rstrip(b"\n").decode("utf-8"))
        except ConnectionClosed as exc:
            raise trio.BrokenResourceError("websocket closed") from exc


async def _frames(ws: WebSocketConnection) -> AsyncIterator[bytes | None]:
    """Incoming messages; binary frames are refused the way a line that is too long is."""
    while True:
        try:
            message = await ws.get_message()
        except ConnectionClosed:
            return
        if isinstance(message, bytes):
            yield None  # a JSON-RPC message is text
            continue
        yield message.encode("utf-8", "surrogatepass")


async def _ws_session(
    runtime: Runtime, transcript: Transcript | None, request: WebSocketRequest
) -> None:
    ws = await request.accept()  # offers of extensions (compression) are not accepted
    server = Server(runtime, _WebSocketSink(ws), transcript=_recorder(transcript))
    try:
        await server.serve_messages(_frames(ws))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        log.info("client_disconnected")
    finally:
        with trio.CancelScope(shield=True):
            await ws.aclose()


async def serve_ws(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    transcript: Transcript | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Sessions over WebSockets until cancelled."""
    if not ipaddress.ip_address(host).is_loopback:
        log.warning("listening_beyond_loopback", host=host, port=port)

    async def handler(request: WebSocketRequest) -> None:
        await _ws_session(runtime, transcript, request)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(
                serve_websocket,
                handler,
                host,
                port,
                None,
                max_message_size=MAX_FRAME,
            )
        )
        bound = server.port
        log.info("listening", url=f"ws://{host}:{bound}")
        task_status.started(bound)
