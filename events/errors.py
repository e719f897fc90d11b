"""The errors of the thread API: one class per condition a host can act on.

A host tells conditions apart by class, never by message text (``except
ThreadNotFoundError``, not ``if "no rollout" in str(exc)``). The messages keep the words
Codex's app-server uses, because clients show them; which JSON-RPC code each class is
answered with is decided in one table in the server, not here.
"""

from __future__ import annotations

from typing import Final

NOT_MATERIALIZED_TURNS: Final = (
    "thread {id} is not materialized yet; includeTurns is unavailable before first user message"
)


class ThreadError(Exception):
    """Base of every error the thread API raises; ``message`` is what clients are shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(ThreadError, ValueError):
    """A request whose parameters cannot be served (an empty name, ``numTurns < 1``, ...)."""


class InvalidThreadIdError(InvalidRequestError):
    """An id from outside that is not a canonical UUID."""

    def __init__(self, thread_id: object) -> None:
        super().__init__(f"invalid thread id: {str(thread_id)[:80]}")


class ThreadNotFoundError(ThreadError, LookupError):
    """No rollout exists for the thread."""

    def __init__(self, thread_id: str, message: str | None = None) -> None:
        super().__init__(message or f"no rollout found for thread id {thread_id}")
        self.thread_id = thread_id


class ArchivedThreadNotFoundError(ThreadNotFoundError):
    """Unarchive of a thread that has no archived rollout."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(thread_id, f"no archived rollout found for thread id {thread_id}")


class ThreadNotLoadedError(ThreadError):
    """A turn, interrupt or rename for an id with nothing loaded and nothing on disk."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread not loaded: {thread_id}")
        self.thread_id = thread_id


class NotMaterializedError(ThreadError):
    """The thread has no rollout yet (before its first user message): no turns to read."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(NOT_MATERIALIZED_TURNS.format(id=thread_id))
        self.thread_id = thread_id


class CorruptRolloutError(ThreadError):
    """A rollout that cannot be continued (no ``session_meta`` in it)."""


class LogFullError(ThreadError):
    """The thread's log could not take a write (disk full, file too large); nothing of the
    request was kept."""


class TurnAlreadyRunningError(ThreadError):
    """The request needs the thread idle, and a turn is running."""


class NoRunningTurnError(ThreadError):
    """An interrupt with no turn running, or naming a turn that is not the running one."""


class ThreadLockedError(ThreadError):
    """Another writer (this process or another) holds the thread's rollout."""


class ThreadOwnedElsewhereError(ThreadLockedError):
    """Another host owns the thread (its lease is live): the request goes to that host."""

    def __init__(self, message: str, owner: str) -> None:
        super().__init__(message)
        self.owner = owner


class ThreadShuttingDownError(ThreadError):
    """The thread's actor is stopping; the request may be retried."""


class RealtimeError(ThreadError):
    """A realtime request that cannot be served (no transport, no session running)."""
