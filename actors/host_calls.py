"""Asking the host: dynamic tool calls and command approvals, through its callbacks.

The host's answer is never trusted to arrive or to be well formed: no handler, an
exception, a wrong type or (for tools) no answer in time all give a definite result, so a
turn never hangs on, or crashes from, its host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import structlog
import trio

from threadlog.actors.driver import DynamicToolResult

if TYPE_CHECKING:
    from threadlog.actors.runtime import Runtime

log = structlog.get_logger("threadlog.host_calls")
APPROVAL_DECISIONS: Final = ("accept", "acceptForSession", "decline", "cancel")


async def ask_dynamic_tool(
    runtime: Runtime, thread_id: str, turn_id: str, call_id: str, tool: str, arguments: Any
) -> DynamicToolResult:
    """Ask the host's dynamic tool handler, with the runtime's timeout."""
    handler = runtime.dynamic_tool_handler
    if handler is None:
        return DynamicToolResult(success=False, error=f"no handler for dynamic tool {tool!r}")
    with trio.move_on_after(runtime.dynamic_tool_timeout):
        try:
            result = await handler(thread_id, turn_id, call_id, tool, arguments)
        except Exception as exc:
            log.warning("dynamic_tool_handler_failed", tool=tool, call_id=call_id, error=str(exc))
            return DynamicToolResult(success=False, error=f"dynamic tool {tool!r} failed: {exc}")
        if not isinstance(result, DynamicToolResult):
            return DynamicToolResult(
                success=False, error=f"dynamic tool {tool!r}: handler gave no DynamicToolResult"
            )
        return result
    return DynamicToolResult(
        success=False,
        error=f"dynamic tool {tool!r} got no answer in {runtime.dynamic_tool_timeout:g}s",
    )


async def ask_approval(
    runtime: Runtime, thread_id: str, turn_id: str, call_id: str, command: list[str], cwd: str
) -> str:
    """The host's decision on running a command (no handler: accept; failure: decline)."""
    handler = runtime.approval_handler
    if handler is None:
        return "accept"
    try:
        decision = await handler(thread_id, turn_id, call_id, list(command), cwd)
    except Exception as exc:
        log.warning("approval_handler_failed", call_id=call_id, error=str(exc))
        return "decline"
    return decision if decision in APPROVAL_DECISIONS else "decline"
