"""Dynamic tool calls: the host runs a client-side tool the driver asked for.

The call is recorded as the model's ``function_call``, a ``dynamic_tool_call_request``,
then (on the host's answer, a failure, a timeout or an interrupt) the response and the
``function_call_output``. Limited mode does not persist the request and response, so the
host is told of them from the item mapping directly and the log stays the policy's.
"""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from threadlog.actors.drivers.protocol import DynamicToolResult
from threadlog.actors.runtime.active_turn import ActiveTurn
from threadlog.actors.runtime.host_calls import ask_dynamic_tool
from threadlog.actors.runtime.services import ThreadOwner
from threadlog.events.ids import new_id
from threadlog.events.response_items import FunctionCall, FunctionCallOutput
from threadlog.events.tool_events import (
    Duration,
    DynamicToolCallRequest,
    DynamicToolCallResponse,
    DynamicToolContentItem,
)
from threadlog.projections import item_mapping as im


async def call_dynamic_tool(
    actor: ThreadOwner,
    active: ActiveTurn,
    tool: str,
    arguments: Any,
    *,
    call: FunctionCall | None = None,
) -> DynamicToolResult:
    """Ask the turn's host to run a client-side tool; record the request and the answer.

    ``call`` is the model's own function call, recorded verbatim (else one is made up)."""
    turn_id = active.turn_id
    if call is None:
        arguments_text = msgspec.json.encode(arguments).decode()
        call = FunctionCall(name=tool, arguments=arguments_text, call_id=f"call_{new_id()}")
    call_id = call.call_id
    started = trio.current_time()
    request = DynamicToolCallRequest(
        call_id=call_id, turn_id=turn_id, tool=tool, arguments=arguments
    )
    await actor.emit([call])
    # Limited mode does not persist the request, so the fold cannot announce it: the
    # host is told from the item mapping directly, and the log stays the policy's.
    if not await actor.emit([request]):
        actor.publish(actor.announce_started(turn_id, im.dynamic_tool_request(request)))
    try:
        result = await ask_dynamic_tool(
            active.host,
            actor.services.dynamic_tool_timeout,
            actor.thread_id,
            turn_id,
            call_id,
            tool,
            arguments,
        )
    except trio.Cancelled:
        with trio.CancelScope(shield=True):
            await _dynamic_tool_done(
                actor, request, DynamicToolResult(success=False, error="interrupted"), started
            )
        raise
    await _dynamic_tool_done(actor, request, result, started)
    return result


async def _dynamic_tool_done(
    actor: ThreadOwner, request: DynamicToolCallRequest, result: DynamicToolResult, started: float
) -> None:
    items = [
        DynamicToolContentItem(
            type=str(i.get("type", "inputText")),
            text=i.get("text"),
            image_url=i.get("imageUrl", i.get("image_url")),
        )
        for i in result.content_items
        if isinstance(i, dict)
    ]
    millis = int((trio.current_time() - started) * 1000)
    response = DynamicToolCallResponse(
        call_id=request.call_id,
        turn_id=request.turn_id,
        tool=request.tool,
        arguments=request.arguments,
        content_items=items,
        success=result.success,
        error=result.error,
        duration=Duration.from_millis(millis),
    )
    text = "\n".join(i.text or "" for i in items) or (result.error or "")
    if not await actor.emit([response]):
        actor.publish(*actor.announce_finished(request.turn_id, im.dynamic_tool_response(response)))
    await actor.emit([FunctionCallOutput(call_id=request.call_id, output=text)])
