"""Asking the host: dynamic tool calls and command approvals.

A turn asks whoever started it (``HostCalls``): over ``serve`` that is the client
connection that sent ``turn/start``; in the Python API it is built from the callbacks given
to the ``Runtime`` (``CallbackHost``). The host's answer is never trusted to arrive or to
be well formed: an exception, a wrong type or (for tools) no answer in time all give a
definite result, so a turn never hangs on, or crashes from, its host.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final, Literal, Protocol

import trio

from threadlog.actors.drivers.protocol import DynamicToolResult
from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.host_calls")
ApprovalDecision = Literal["accept", "acceptForSession", "decline", "cancel"]
APPROVAL_DECISIONS: Final[tuple[ApprovalDecision, ...]] = (
    "accept",
    "acceptForSession",
    "decline",
    "cancel",
)


class DynamicToolHandler(Protocol):
    """A host callback that runs a client-side tool the model called."""

    def __call__(
        self, thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any
    ) -> Awaitable[DynamicToolResult]:
        """Run ``tool`` with ``arguments``; the answer goes back to the model."""
        ...


class ApprovalHandler(Protocol):
    """A host callback that decides whether a command may run."""

    def __call__(
        self, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
    ) -> Awaitable[str]:
        """One of ``APPROVAL_DECISIONS``; anything else declines."""
        ...


class HostCalls(Protocol):
    """What a running turn asks of the host that started it."""

    async def call_dynamic_tool(
        self, thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any
    ) -> DynamicToolResult:
        """Run a client-side tool and answer with its result."""
        ...

    async def request_approval(
        self, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
    ) -> str:
        """Decide whether a command may run (one of ``APPROVAL_DECISIONS``)."""
        ...


class CallbackHost:
    """``HostCalls`` from two optional callbacks: no tool handler fails the call, no
    approval handler approves (a host that gives none has nobody to ask)."""

    def __init__(
        self,
        dynamic_tool_handler: DynamicToolHandler | None = None,
        approval_handler: ApprovalHandler | None = None,
    ) -> None:
        self.dynamic_tool_handler = dynamic_tool_handler
        self.approval_handler = approval_handler

    async def call_dynamic_tool(
        self, thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any
    ) -> DynamicToolResult:
        """Call the tool handler, or fail the call when there is none."""
        if self.dynamic_tool_handler is None:
            return DynamicToolResult(success=False, error=f"no handler for dynamic tool {tool!r}")
        return await self.dynamic_tool_handler(thread_id, turn_id, call_id, tool, arguments)

    async def request_approval(
        self, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
    ) -> str:
        """Ask the approval handler, or approve when there is none."""
        if self.approval_handler is None:
            return "accept"
        return await self.approval_handler(thread_id, turn_id, call_id, command, cwd)


async def ask_dynamic_tool(
    host: HostCalls,
    timeout: float,
    thread_id: str,
    turn_id: str,
    call_id: str,
    tool: str,
    arguments: Any,
) -> DynamicToolResult:
    """Ask the host to run a tool within ``timeout`` seconds; every failure is a result."""
    with trio.move_on_after(timeout):
        try:
            # Typed as object: a host is outside our control and may answer anything.
            result: object = await host.call_dynamic_tool(
                thread_id, turn_id, call_id, tool, arguments
            )
        except Exception as exc:
            log.warning("dynamic_tool_handler_failed", tool=tool, call_id=call_id, error=str(exc))
            return DynamicToolResult(success=False, error=f"dynamic tool {tool!r} failed: {exc}")
        if not isinstance(result, DynamicToolResult):
            return DynamicToolResult(
                success=False, error=f"dynamic tool {tool!r}: handler gave no DynamicToolResult"
            )
        return result
    return DynamicToolResult(
        success=False, error=f"dynamic tool {tool!r} got no answer in {timeout:g}s"
    )


async def ask_approval(
    host: HostCalls, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
) -> ApprovalDecision:
    """The host's decision on running a command (a failure or a non-decision declines)."""
    try:
        decision = await host.request_approval(thread_id, turn_id, call_id, list(command), cwd)
    except Exception as exc:
        log.warning("approval_handler_failed", call_id=call_id, error=str(exc))
        return "decline"
    for known in APPROVAL_DECISIONS:
        if decision == known:
            return known
    return "decline"
