"""Drivers: what turns a user turn into model output.

A driver is the seam between threadlog and a model. The runtime calls
``driver.run_turn(request, turn)`` once per turn, inside the turn's cancel scope; the driver
produces output by awaiting methods of ``turn`` (a ``TurnHandle`` the runtime implements),
which record the matching events through the persistence policy and notify the host. So a
driver never touches the log, and whatever it does is exactly what a later read shows.

Failures: raise ``DriverError`` (the turn ends ``failed`` with that ``TurnError``); any
other exception is recorded the same way with ``codex_error_info`` ``other``. Interrupts
arrive as trio cancellation: a driver simply lets ``trio.Cancelled`` propagate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from threadlog.events.ops import UserInputItem
from threadlog.events.response_items import (
    CustomToolCall,
    FunctionCall,
    Reasoning,
    ResponseItem,
)
from threadlog.events.rollout import DynamicToolSpec


class DriverError(Exception):
    """A model-side failure that ends the turn ``failed``."""

    def __init__(self, message: str, codex_error_info: Any = "other") -> None:
        super().__init__(message)
        self.message = message
        self.codex_error_info = codex_error_info


class TurnRequest(msgspec.Struct, frozen=True):
    """Everything a driver needs to produce one turn."""

    thread_id: str
    turn_id: str
    input: list[UserInputItem]
    cwd: str
    model: str
    effort: str | None = None
    collaboration_mode: str = "default"
    history: Sequence[ResponseItem] = ()
    dynamic_tools: Sequence[DynamicToolSpec] = ()


class ExecResult(msgspec.Struct, frozen=True):
    """How a command the driver ran ended."""

    exit_code: int
    output: str
    duration_ms: int
    status: str


class DynamicToolResult(msgspec.Struct, frozen=True):
    """The host's answer to a dynamic tool call."""

    success: bool
    content_items: list[Any] = []
    error: str | None = None


class PatchResult(msgspec.Struct, frozen=True):
    """How an ``apply_patch`` call went, and what the model reads back."""

    success: bool
    output: str


class TurnHandle(Protocol):
    """What a driver may do during a turn; each call records events."""

    async def agent_message_delta(self, text: str) -> None:
        """Stream a piece of the current assistant message."""

    async def agent_message_end(self, phase: str | None = None) -> None:
        """Complete the current assistant message."""

    async def reasoning(self, text: str) -> None:
        """Record a reasoning summary paragraph."""

    async def reasoning_item(self, item: Reasoning) -> None:
        """Record a model's reasoning item verbatim (its summary shown, its encrypted
        content kept for the next request)."""

    async def exec_command(
        self,
        command: list[str],
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        call: FunctionCall | None = None,
    ) -> ExecResult:
        """Run a command through the runtime's executor (approval and sandbox apply).

        With ``call`` (the model's own function call) that call is recorded and the driver
        records the output it gives the model (``record_output``); without it the handle
        records a ``shell`` call and its output itself.
        """

    async def record_patch(self, changes: dict[str, Any], *, success: bool) -> None:
        """Record a patch application (``changes`` as in ``patch_apply_end``)."""

    async def apply_patch(self, call: CustomToolCall) -> PatchResult:
        """Apply the model's ``apply_patch`` call to the files (inside the sandbox's
        writable roots), recording the call, the change and the tool output."""

    async def call_dynamic_tool(
        self, tool: str, arguments: Any, *, call: FunctionCall | None = None
    ) -> DynamicToolResult:
        """Call a client-side tool and wait for the host's answer (``call``: the model's)."""

    async def update_plan(
        self, call: FunctionCall, plan: list[dict[str, str]], explanation: str | None
    ) -> None:
        """Record the model's ``update_plan`` call, tell the host the plan, answer it."""

    async def record_output(self, item: ResponseItem) -> None:
        """Record a tool output the model will read (``function_call_output`` ...)."""

    def model_input(self) -> list[ResponseItem]:
        """The model-visible history now, this turn's items included."""

    async def token_count(self, input_tokens: int, output_tokens: int) -> None:
        """Report the token usage of one model request."""

    async def model_rerouted(self, from_model: str, to_model: str, reason: str) -> None:
        """Report that the model was rerouted."""


class Driver(Protocol):
    """Produces a turn's output through a ``TurnHandle``."""

    async def run_turn(self, request: TurnRequest, turn: TurnHandle) -> None:
        """Drive one turn to its end (return normally when the turn is complete)."""
