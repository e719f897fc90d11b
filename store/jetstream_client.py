"""The JetStream operations the log needs, as coroutines on the ``NatsLink`` loop.

Requests go to the JetStream API subjects directly and their JSON answers are decoded
here, so every refusal keeps its ``err_code`` (10071, wrong last sequence, is how a stale
writer is told; nats-py would turn it into a generic exception). Reads of stored messages
ask the stream leader (``STREAM.MSG.GET``, not a direct get a follower may answer from a
stale copy), so a writer opening a log sees its true end.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, ParamSpec, TypeVar

import msgspec
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoRespondersError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DeliverPolicy

P = ParamSpec("P")
R = TypeVar("R")
WRONG_LAST_SEQUENCE: Final = 10071
BATCH_DUPLICATE_ID: Final = 10201
NO_MESSAGE: Final = 10037
STREAM_NOT_FOUND: Final = 10059
API_TIMEOUT: Final = 5.0
INACTIVE: Final = 10.0  # seconds after which the server removes a reader's lost consumer
# What a request that got no answer is: the server went away, or is electing a leader.
TRANSIENT: Final = (
    NatsTimeoutError,
    asyncio.TimeoutError,
    NoRespondersError,
    ConnectionClosedError,
    OutboundBufferLimitError,
)


RETRY_FOR: Final = 60.0  # seconds a request waits for a server that went away


def retried(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Retry an idempotent request through ``TRANSIENT`` failures (a restarted server, a
    leader election), backing off, for up to ``RETRY_FOR`` seconds."""

    @functools.wraps(fn)
    async def again(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + RETRY_FOR
        wait = 0.05
        while True:
            try:
                return await fn(*args, **kwargs)
            except TRANSIENT:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(wait)
                wait = min(wait * 2, 1.0)

    return again


class JetStreamError(OSError):
    """A JetStream API refusal, with the server's own codes."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"JetStream: {description} (err_code {err_code})")
        self.code = code
        self.err_code = err_code
        self.description = description


class StoredMsg(msgspec.Struct, frozen=True):
    """One message as the stream holds it."""

    seq: int
    data: bytes
    headers: Mapping[str, str]
    time_ms: int


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _RawMsg(msgspec.Struct):
    seq: int
    time: str
    hdrs: str | None = None
    data: str | None = None


class _Answer(msgspec.Struct):
    error: _ApiError | None = None
    message: _RawMsg | None = None
    seq: int = 0
    duplicate: bool = False
    config: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    cluster: dict[str, Any] | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def _time_ms(stamp: str) -> int:
    """RFC 3339 with nanoseconds (which ``fromisoformat`` of 3.11 does not take) to ms."""
    head, _, tail = stamp.rstrip("Z").partition(".")
    fraction = (tail + "000000")[:6]
    when = datetime.fromisoformat(f"{head}.{fraction}+00:00")
    return int(when.timestamp() * 1000)


def _headers(raw: bytes) -> dict[str, str]:
    """``NATS/1.0\\r\\nKey: value\\r\\n...`` to a dict (the first value of a key wins)."""
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep and key not in out:
            out[key] = value.strip()
    return out


class JetStreamClient:
    """The log's JetStream requests, bound to one connection and stream."""

    def __init__(self, nc: Client, stream: str) -> None:
        self.nc = nc
        self.stream = stream

    @retried
    async def api(self, verb: str, body: Mapping[str, Any] | None = None) -> _Answer:
        """One JetStream API request (``$JS.API.<verb>``), retried; a refusal raises."""
        return await self.api_once(verb, body)

    async def api_once(self, verb: str, body: Mapping[str, Any] | None = None) -> _Answer:
        """One JetStream API request, tried once; a refusal raises."""
        payload = msgspec.json.encode(body) if body is not None else b""
        reply = await self.nc.request(f"$JS.API.{verb}", payload, timeout=API_TIMEOUT)
        answer = _decode_answer(reply.data)
        if answer.error is not None:
            e = answer.error
            raise JetStreamError(e.code, e.err_code, e.description)
        return answer

    # --- the stream ----------------------------------------------------------------------

    async def stream_config(self) -> dict[str, Any] | None:
        """The stream's configuration, or None when it does not exist."""
        try:
            answer = await self.api(f"STREAM.INFO.{self.stream}")
        except JetStreamError as exc:
            if exc.err_code == STREAM_NOT_FOUND:
                return None
            raise
        return answer.config

    async def create_stream(self, subjects: Sequence[str], replicas: int) -> dict[str, Any]:
        """Create the stream with atomic batches on; returns its configuration."""
        config = {
            "name": self.stream,
            "subjects": list(subjects),
            "retention": "limits",
            "storage": "file",
            "num_replicas": replicas,
            "discard": "old",
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "max_msg_size": -1,
            "duplicate_window": 120_000_000_000,
            "allow_atomic": True,
            "deny_delete": False,
            "deny_purge": False,
        }
        answer = await self.api(f"STREAM.CREATE.{self.stream}", config)
        assert answer.config is not None
        return answer.config

    async def update_stream(self, config: dict[str, Any]) -> None:
        """Change the stream's configuration (to turn atomic batches on)."""
        await self.api(f"STREAM.UPDATE.{self.stream}", config)

    # --- reading -------------------------------------------------------------------------

    async def _get(self, body: Mapping[str, Any]) -> StoredMsg | None:
        try:
            answer = await self.api(f"STREAM.MSG.GET.{self.stream}", body)
        except JetStreamError as exc:
            if exc.err_code == NO_MESSAGE:
                return None
            raise
        raw = answer.message
        assert raw is not None
        return StoredMsg(
            seq=raw.seq,
            data=base64.b64decode(raw.data) if raw.data else b"",
            headers=_headers(base64.b64decode(raw.hdrs)) if raw.hdrs else {},
            time_ms=_time_ms(raw.time),
        )

    async def last(self, subject: str) -> StoredMsg | None:
        """The subject's last message, from the stream leader."""
        return await self._get({"last_by_subj": subject})

    async def next_from(self, subject: str, seq: int) -> StoredMsg | None:
        """The subject's first message at or after stream sequence ``seq``."""
        return await self._get({"seq": max(seq, 1), "next_by_subj": subject})

    @retried
    async def read(
        self, subject: str, start_seq: int, last_seq: int, *, max_bytes: int | None = None
    ) -> list[StoredMsg]:
        """The subject's messages from ``start_seq`` up to ``last_seq``, through an ordered
        consumer filtered to the subject; stops early once ``max_bytes`` of data came."""
        js = self.nc.jetstream()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(start_seq, 1),
            inactive_threshold=INACTIVE,
        )
        sub = await js.subscribe(subject, stream=self.stream, ordered_consumer=True, config=config)
        out: list[StoredMsg] = []
        got = 0
        try:
            while True:
                msg = await sub.next_msg(timeout=API_TIMEOUT)
                meta = msg.metadata
                out.append(
                    StoredMsg(
                        meta.sequence.stream,
                        msg.data,
                        dict(msg.headers or {}),
                        int(meta.timestamp.timestamp() * 1000),
                    )
                )
                got += len(msg.data)
                if meta.sequence.stream >= last_seq or meta.num_pending == 0:
                    return out
                if max_bytes is not None and got >= max_bytes:
                    return out
        finally:
            await self._done(sub)

    async def _done(self, sub: Any) -> None:
        """End a read: unsubscribe and delete its consumer now, not when it times out (a
        stream has at most 1,000 consumers, and a replay reads thousands of logs)."""
        await sub.unsubscribe()
        name = getattr(sub, "_consumer", None)  # nats-py keeps the current one's name there
        if name:
            try:
                await self.api_once(f"CONSUMER.DELETE.{self.stream}.{name}")
            except (JetStreamError, *TRANSIENT):
                pass  # gone already, or the server is: the inactivity threshold removes it

    @retried
    async def last_per_subject(self, subjects: str) -> list[tuple[str, StoredMsg]]:
        """The last message of every subject matching the wildcard ``subjects``."""
        js = self.nc.jetstream()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT, inactive_threshold=INACTIVE
        )
        sub = await js.subscribe(subjects, stream=self.stream, ordered_consumer=True, config=config)
        out: list[tuple[str, StoredMsg]] = []
        try:
            info = await sub.consumer_info()  # delivery has begun: count what was sent too
            if not info.num_pending and not (info.delivered and info.delivered.consumer_seq):
                return out
            while True:
                msg = await sub.next_msg(timeout=API_TIMEOUT)
                meta = msg.metadata
                stored = StoredMsg(
                    meta.sequence.stream,
                    msg.data,
                    dict(msg.headers or {}),
                    int(meta.timestamp.timestamp() * 1000),
                )
                out.append((msg.subject, stored))
                if meta.num_pending == 0:
                    return out
        finally:
            await self._done(sub)

    # --- writing -------------------------------------------------------------------------

    async def publish(
        self, subject: str, pieces: Sequence[bytes], headers: Sequence[dict[str, str]]
    ) -> _Answer:
        """Publish ``pieces`` (one message, or an atomic batch of several) and wait for the
        ack; a refusal raises ``JetStreamError``, a lost ack a ``TRANSIENT`` error."""
        if len(pieces) == 1:
            reply = await self.nc.request(
                subject, pieces[0], timeout=API_TIMEOUT, headers=headers[0]
            )
        else:
            batch = uuid.uuid4().hex  # a new one per attempt: a half-sent batch is abandoned
            last = len(pieces)
            for n, (piece, extra) in enumerate(zip(pieces, headers, strict=True), 1):
                h = {**extra, "Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(n)}
                if n < last:
                    await self.nc.publish(subject, piece, headers=h)
                else:
                    h["Nats-Batch-Commit"] = "1"
                    reply = await self.nc.request(subject, piece, timeout=API_TIMEOUT, headers=h)
        answer = _decode_answer(reply.data)
        if answer.error is not None:
            e = answer.error
            raise JetStreamError(e.code, e.err_code, e.description)
        return answer

    @retried
    async def purge(self, subject: str) -> int:
        """Remove every message of ``subject``; how many went."""
        reply = await self.nc.request(
            f"$JS.API.STREAM.PURGE.{self.stream}",
            msgspec.json.encode({"filter": subject}),
            timeout=API_TIMEOUT,
        )
        answer = msgspec.json.decode(reply.data)
        if "error" in answer:
            e = answer["error"]
            raise JetStreamError(e.get("code", 0), e.get("err_code", 0), e.get("description", ""))
        return int(answer.get("purged", 0))
