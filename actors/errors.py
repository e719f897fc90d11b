"""Errors the host API raises, with the JSON-RPC code and the words Codex uses."""

from __future__ import annotations

from typing import Final

from actors.jsonrpc import INTERNAL_ERROR, INVALID_REQUEST

NOT_MATERIALIZED_TURNS: Final = (
    "thread {id} is not materialized yet; includeTurns is unavailable before first user message"
)


class ThreadError(Exception):
    """A request that cannot be served; ``code`` is what ``serve`` answers with."""

    def __init__(self, message: str, code: int = INVALID_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def no_rollout(thread_id: str) -> ThreadError:
    """Fork/archive/resume of a thread with no file."""
    return ThreadError(f"no rollout found for thread id {thread_id}")


def not_loaded(thread_id: str) -> ThreadError:
    """A turn or rename for an id with nothing loaded and nothing on disk."""
    return ThreadError(f"thread not loaded: {thread_id}")


def not_materialized(thread_id: str) -> ThreadError:
    """``thread/read`` with turns before the first user message."""
    return ThreadError(NOT_MATERIALIZED_TURNS.format(id=thread_id))


def invalid_id(thread_id: object) -> ThreadError:
    """An id that is not a UUID."""
    return ThreadError(f"invalid thread id: {str(thread_id)[:80]}")


def internal(message: str) -> ThreadError:
    """An I/O failure."""
    return ThreadError(message, INTERNAL_ERROR)
