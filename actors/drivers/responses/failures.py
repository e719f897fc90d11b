"""What each way a model request can fail means: retry or not, and the turn's error (pure).

The messages and ``codex_error_info`` values are Codex's, where the corpus shows them (HTTP
500: "We're currently experiencing high demand ..." with ``internal_server_error``; a cut
stream: "stream disconnected before completion: stream closed before response.completed"
with ``other``). Two budgets, as Codex has: ``request_max_retries`` for a request that got
no stream (connection refused, 5xx, 429), ``stream_max_retries`` for a stream that broke.
Backoff doubles from 200 ms with +-10% jitter, unless the server said ``retry-after``.
"""

from __future__ import annotations

import email.utils
import time
from http import HTTPStatus
from typing import Any

import msgspec

HIGH_DEMAND = "We're currently experiencing high demand, which may cause temporary errors."
STREAM_CLOSED = "stream disconnected before completion: stream closed before response.completed"
STREAM_IDLE = "stream disconnected before completion: idle timeout waiting for SSE"
USAGE_LIMIT = "You've hit your usage limit. Try again later."


class ModelFailure(msgspec.Struct, frozen=True):
    """One failed attempt: how it ends the turn, and whether another attempt may follow."""

    message: str
    info: Any  # the on-disk codex_error_info (snake_case), as Codex records it
    retryable: bool
    budget: str  # "request" or "stream": which retry budget an attempt spends
    retry_after: float | None = None


def _reason(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _error_body(body: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``retry-after`` header asks for (seconds, or an HTTP date); None if unset."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def http_failure(status: int, body: bytes, retry_after_header: str | None) -> ModelFailure:
    """A response that is not a 2xx stream."""
    error = _error_body(body)
    text = body.decode("utf-8", "replace").strip()[:2000]
    after = retry_after(retry_after_header)
    if status >= 500:
        return ModelFailure(HIGH_DEMAND, "internal_server_error", True, "request", after)
    if status == 429:
        if error.get("type") == "usage_limit_reached" or error.get("code") == "insufficient_quota":
            return ModelFailure(USAGE_LIMIT, "usage_limit_exceeded", False, "request")
        last = f"exceeded retry limit, last status: {_reason(status)}"
        limit = {"response_too_many_failed_attempts": {"http_status_code": status}}
        return ModelFailure(last, limit, True, "request", after)
    if status == 401:
        message = f"unexpected status {_reason(status)}: {text}" if text else _reason(status)
        return ModelFailure(message, "unauthorized", False, "request")
    if status == 400:
        message = str(error.get("message") or text or _reason(status))
        kind = (
            "context_window_exceeded"
            if error.get("code") == "context_length_exceeded"
            else "bad_request"
        )
        return ModelFailure(message, kind, False, "request")
    message = f"unexpected status {_reason(status)}: {text}" if text else _reason(status)
    info = {"response_stream_connection_failed": {"http_status_code": status}}
    return ModelFailure(message, info, False, "request")


def connection_failure(url: str, reason: str) -> ModelFailure:
    """The server could not be reached (refused, DNS, TLS, timeout before a response)."""
    message = f"error sending request for url ({url}): {reason}"
    info = {"http_connection_failed": {"http_status_code": None}}
    return ModelFailure(message, info, True, "request")


def stream_failure(reason: str | None = None) -> ModelFailure:
    """The stream ended, stalled or broke before ``response.completed``."""
    message = (
        STREAM_CLOSED if reason is None else f"stream disconnected before completion: {reason}"
    )
    return ModelFailure(message, "other", True, "stream")


def idle_failure() -> ModelFailure:
    """No event within ``stream_idle_timeout_ms``."""
    return ModelFailure(STREAM_IDLE, "other", True, "stream")


_FATAL_CODES = {
    "context_length_exceeded": "context_window_exceeded",
    "insufficient_quota": "usage_limit_exceeded",
    "usage_not_included": "usage_limit_exceeded",
    "invalid_prompt": "bad_request",
}


def response_failed(code: str | None, message: str) -> ModelFailure:
    """``response.failed``: fatal for a bad prompt or quota, else another attempt may do."""
    if code in _FATAL_CODES:
        return ModelFailure(message, _FATAL_CODES[code], False, "stream")
    if code in ("server_is_overloaded", "slow_down"):
        return ModelFailure(message, "server_overloaded", True, "stream")
    return ModelFailure(message, "other", True, "stream")


def backoff(attempt: int, jitter: float) -> float:
    """Seconds before retry ``attempt`` (1-based): 0.2 s doubling, ``jitter`` in [0.9, 1.1]."""
    return 0.2 * float(2 ** (attempt - 1)) * jitter
