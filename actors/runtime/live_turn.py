"""The ``TurnHandle`` a driver drives: each call records events through the thread actor.

An assistant message streams as deltas under the id the history fold will give it (asked of
the fold before the first delta) and is recorded whole when it ends; any other output first
completes a message still streaming, so that predicted id always holds. Commands run through
the runtime's executor and are recorded as ``exec_command_begin``/``end`` plus the function
call the model made and its output.
"""

from __future__ import annotations

import json
import os
from typing import Any

import msgspec
import trio

from threadlog.actors.drivers.protocol import DynamicToolResult, ExecResult, PatchResult
from threadlog.actors.runtime.active_turn import ActiveTurn
from threadlog.actors.runtime.dynamic_tool_call import call_dynamic_tool
from threadlog.actors.runtime.host_calls import ask_approval
from threadlog.actors.runtime.services import ThreadOwner
from threadlog.actors.shell.apply_patch import PatchOutcome, apply_patch
from threadlog.actors.shell.executor import ExecOutcome, SandboxRefusal
from threadlog.actors.shell.sandbox import read_access_of, writable_roots_of
from threadlog.events import notifications as notes
from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    ItemCompleted,
    ModelReroute,
    PlanTurnItem,
    PlanUpdate,
    TokenCount,
    TokenUsage,
    TokenUsageInfo,
)
from threadlog.events.ids import new_id
from threadlog.events.plan_parser import Normal, PlanEnd, PlanStart, ProposedPlanParser, Segment
from threadlog.events.plan_parser import PlanDelta as PlanTextDelta
from threadlog.events.response_items import (
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    Message,
    OutputText,
    Reasoning,
    ResponseItem,
    SummaryText,
)
from threadlog.events.thread_items import (
    AgentMessageItem,
    CommandExecutionItem,
    PlanItem,
    ReasoningItem,
    UnknownAction,
)
from threadlog.events.tool_events import (
    Duration,
    ExecCommandBegin,
    ExecCommandEnd,
    PatchApplyBegin,
    PatchApplyEnd,
)
from threadlog.events.truncate import truncate_middle
from threadlog.projections import item_mapping as im
from threadlog.projections.item_mapping import join_command


class LiveTurn:
    """Implements ``actors.driver.TurnHandle`` for one running turn."""

    def __init__(self, actor: ThreadOwner, active: ActiveTurn) -> None:
        self.actor = actor
        self.active = active
        self.turn_id = active.turn_id
        self._message: list[str] = []
        self._raw: list[str] = []
        self._message_id: str | None = None
        self._streaming = False
        self._plan_parser: ProposedPlanParser | None = None
        self._plan_id: str | None = None
        self._plan: list[str] = []
        self.last_agent_message: str | None = None

    @property
    def thread_id(self) -> str:
        """The thread this turn belongs to."""
        return self.actor.thread_id

    # --- assistant messages ----------------------------------------------------------

    async def agent_message_delta(self, text: str) -> None:
        """Stream a piece of the current assistant message (plan blocks split out in plan mode)."""
        if not self._streaming:
            self._streaming = True
            if self.active.collaboration_mode == "plan":
                self._plan_parser = ProposedPlanParser()
        self._raw.append(text)
        if self._plan_parser is None:
            await self._normal_text(text)
            return
        for segment in self._plan_parser.parse(text):
            await self._segment(segment)

    async def _normal_text(self, text: str) -> None:
        if self._message_id is None:
            self._message_id = self.actor.history.next_item_id()
            item = AgentMessageItem(id=self._message_id, text="")
            self.actor.publish(self.actor.announce_started(self.turn_id, item))
        self._message.append(text)
        if text:
            self.actor.publish(
                notes.agent_message_delta(self.thread_id, self.turn_id, self._message_id, text)
            )

    async def _segment(self, segment: Segment) -> None:
        if isinstance(segment, Normal):
            await self._normal_text(segment.text)
        elif isinstance(segment, PlanStart):
            self._plan_id, self._plan = f"plan_{new_id()}", []
            plan_item = PlanItem(id=self._plan_id, text="")
            self.actor.publish(self.actor.announce_started(self.turn_id, plan_item))
        elif isinstance(segment, PlanTextDelta) and self._plan_id is not None:
            self._plan.append(segment.text)
            self.actor.publish(
                notes.plan_delta(self.thread_id, self.turn_id, self._plan_id, segment.text)
            )
        elif isinstance(segment, PlanEnd) and self._plan_id is not None:
            plan = PlanTurnItem(id=self._plan_id, text="".join(self._plan))
            self._plan_id, self._plan = None, []
            # Persisted as item_completed (Plan): the only way a replay can rebuild it.
            await self.actor.emit(
                [
                    ItemCompleted(
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                        item=msgspec.to_builtins(plan),
                    )
                ]
            )

    async def agent_message_end(self, phase: str | None = None) -> None:
        """Complete the current assistant message (recorded whole; an open plan closes)."""
        if not self._streaming:
            return
        if self._plan_parser is not None:
            for segment in self._plan_parser.finish():
                await self._segment(segment)
        text, raw = "".join(self._message), "".join(self._raw)
        announced = self._message_id is not None
        self._message, self._raw, self._message_id = [], [], None
        self._streaming, self._plan_parser = False, None
        # The event carries what the user reads (plan stripped); the response item keeps
        # what the model said, so the model's own history stays verbatim.
        items: list[Any] = [AgentMessage(message=text, phase=phase)] if announced else []
        items.append(Message(role="assistant", content=[OutputText(raw)], phase=phase))
        await self.actor.emit(items)
        if text:
            self.last_agent_message = text

    async def finish_message(self) -> None:
        """Complete a message left streaming (before other output, or at the turn's end)."""
        if self._streaming:
            await self.agent_message_end()

    # --- other output ----------------------------------------------------------------

    async def reasoning(self, text: str) -> None:
        """Record a reasoning summary paragraph (streamed to hosts as 0.171 streams it)."""
        await self.reasoning_item(Reasoning(summary=[SummaryText(text)], content=None))

    async def reasoning_item(self, item: Reasoning) -> None:
        """Record a reasoning item verbatim; each summary paragraph is shown to hosts."""
        await self.finish_message()
        turn = self.actor.history.turn(self.turn_id, running=True)
        last = turn.items[-1] if turn is not None and turn.items else None
        shown: list[notes.Notification] = []
        if isinstance(last, ReasoningItem):  # a further paragraph of the same reasoning
            item_id, index = last.id, len(last.summary)
        else:
            item_id, index = self.actor.history.next_item_id(), 0
            shown.append(self.actor.announce_started(self.turn_id, ReasoningItem(id=item_id)))
        for offset, part in enumerate(item.summary):
            shown += [
                notes.reasoning_summary_part_added(
                    self.thread_id, self.turn_id, item_id, index + offset
                ),
                notes.reasoning_summary_text_delta(
                    self.thread_id, self.turn_id, item_id, index + offset, part.text
                ),
            ]
        said: list[Any] = [AgentReasoning(text=part.text) for part in item.summary]
        await self.actor.emit([*said, item], transient=shown)

    async def token_count(self, input_tokens: int, output_tokens: int) -> None:
        """Record the usage of one model request (totals accumulate over the thread)."""
        last = TokenUsage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        total = self.actor.add_usage(last)
        info = TokenUsageInfo(total_token_usage=total, last_token_usage=last)
        await self.actor.emit(
            [TokenCount(info=info)],
            transient=[
                notes.token_usage_updated(
                    self.thread_id, self.turn_id, total, last, info.model_context_window
                )
            ],
        )

    async def model_rerouted(self, from_model: str, to_model: str, reason: str) -> None:
        """Tell the host the model was rerouted (nothing is persisted)."""
        await self.actor.emit(
            [ModelReroute(from_model=from_model, to_model=to_model, reason=reason)],
            transient=[
                notes.model_rerouted(self.thread_id, self.turn_id, from_model, to_model, reason),
                notes.Notification(
                    "warning",
                    {
                        "threadId": self.thread_id,
                        "message": f"model rerouted from {from_model} to {to_model} ({reason})",
                    },
                ),
            ],
        )

    async def exec_command(
        self,
        command: list[str],
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        call: FunctionCall | None = None,
    ) -> ExecResult:
        """Run a command through approval and the executor, recording it as a tool call."""
        await self.finish_message()
        actor = self.actor
        workdir = cwd or actor.settings.cwd
        shown = join_command(command)
        # What the user reads of a `bash -lc SCRIPT` is the script, as Codex parses it.
        script = command[2] if len(command) == 3 and command[1] == "-lc" else shown
        parsed = [{"type": "unknown", "cmd": script}]
        answer = call is None  # our own shell call: we record its output too
        if call is None:
            arguments = json.dumps({"command": command, "workdir": workdir})
            call = FunctionCall(name="shell", arguments=arguments, call_id=f"call_{new_id()}")
        call_id = call.call_id
        await actor.emit([call])
        begin = ExecCommandBegin(
            call_id=call_id, command=command, cwd=workdir, turn_id=self.turn_id, parsed_cmd=parsed
        )
        if actor.settings.approval_policy != "never":
            decision = await ask_approval(
                self.active.host, self.thread_id, self.turn_id, call_id, list(command), workdir
            )
            if decision in ("decline", "cancel"):
                message = "command declined by the user"
                await self._exec_end(begin, -1, "", message, message, 0, "declined", answer)
                if decision == "cancel":
                    self.active.scope.cancel()
                return ExecResult(exit_code=-1, output=message, duration_ms=0, status="declined")
        # exec_command_begin is never persisted, so the fold cannot announce the command.
        item = CommandExecutionItem(
            id=call_id,
            command=shown,
            cwd=workdir,
            status="inProgress",
            command_actions=[UnknownAction(command=script)],
        )
        await actor.emit([begin], transient=[actor.announce_started(self.turn_id, item)])

        async def stream(text: str) -> None:
            actor.publish(notes.command_output_delta(self.thread_id, self.turn_id, call_id, text))

        try:
            outcome = await actor.services.executor.run(
                command,
                cwd=workdir,
                access=read_access_of(actor.settings.sandbox_policy),
                timeout=timeout,
                on_output=stream,
            )
        except SandboxRefusal as exc:
            outcome = ExecOutcome(-1, "", str(exc), str(exc), 0, "failed")
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await self._exec_end(begin, -1, "", "", "interrupted", 0, "failed", answer)
            raise
        await self._exec_end(
            begin,
            outcome.exit_code,
            outcome.stdout,
            outcome.stderr,
            outcome.aggregated_output,
            outcome.duration_ms,
            outcome.status,
            answer,
        )
        return ExecResult(
            exit_code=outcome.exit_code,
            output=outcome.aggregated_output,
            duration_ms=outcome.duration_ms,
            status=outcome.status,
        )

    async def _exec_end(
        self,
        begin: ExecCommandBegin,
        exit_code: int,
        stdout: str,
        stderr: str,
        aggregated: str,
        duration_ms: int,
        status: str,
        answer: bool,
    ) -> None:
        end = ExecCommandEnd(
            call_id=begin.call_id,
            command=begin.command,
            cwd=begin.cwd,
            turn_id=begin.turn_id,
            parsed_cmd=begin.parsed_cmd,
            stdout=stdout,
            stderr=stderr,
            aggregated_output=aggregated,
            exit_code=exit_code,
            duration=Duration.from_millis(duration_ms),
            formatted_output=aggregated,
            status=status,
        )
        if not await self.actor.emit([end]):  # limited mode: the host still sees it end
            self.actor.publish(
                *self.actor.announce_finished(self.turn_id, im.command_execution(end))
            )
        if answer:
            # What the model reads back is bounded like the persisted output.
            output = truncate_middle(f"Exit code: {exit_code}\nOutput:\n{aggregated}")
            await self.actor.emit([FunctionCallOutput(call_id=begin.call_id, output=output)])

    async def record_patch(self, changes: dict[str, Any], *, success: bool) -> None:
        """Record a patch application (the driver applied it, or pretends to)."""
        await self.finish_message()
        outcome = PatchOutcome(
            success, changes, "Success." if success else "", "" if success else "patch failed"
        )
        await self._record_patch(f"call_{new_id()}", outcome)

    async def apply_patch(self, call: CustomToolCall) -> PatchResult:
        """Apply the model's patch inside the sandbox's writable roots and record it all."""
        await self.finish_message()
        await self.actor.emit([call])
        settings = self.actor.settings
        roots = writable_roots_of(settings.sandbox_policy, settings.cwd, os.environ.get("TMPDIR"))
        outcome = await trio.to_thread.run_sync(apply_patch, call.input, settings.cwd, roots)
        if outcome.success or outcome.changes:
            await self._record_patch(call.call_id, outcome)
        # As Codex 0.171 keeps it: the text the model reads, in the log as it was sent.
        output = (
            f"Exit code: 0\nWall time: 0 seconds\nOutput:\n{outcome.stdout}"
            if outcome.success
            else outcome.stderr
        )
        await self.actor.emit([CustomToolCallOutput(call_id=call.call_id, output=output)])
        return PatchResult(success=outcome.success, output=output)

    async def _record_patch(self, call_id: str, outcome: PatchOutcome) -> None:
        changes, success = outcome.changes, outcome.success
        begin = PatchApplyBegin(
            call_id=call_id, changes=changes, turn_id=self.turn_id, auto_approved=True
        )
        end = PatchApplyEnd(
            call_id=call_id,
            success=success,
            changes=changes,
            turn_id=self.turn_id,
            status="completed" if success else "failed",
            stdout=outcome.stdout,
            stderr=outcome.stderr,
        )
        # patch_apply_begin is never persisted: the host hears of the change as it starts
        running = msgspec.structs.replace(im.file_change(end), status="inProgress")
        await self.actor.emit(
            [begin], transient=[self.actor.announce_started(self.turn_id, running)]
        )
        if not await self.actor.emit([end]):  # limited mode: the host still sees it end
            self.actor.publish(*self.actor.announce_finished(self.turn_id, im.file_change(end)))

    async def call_dynamic_tool(
        self, tool: str, arguments: Any, *, call: FunctionCall | None = None
    ) -> DynamicToolResult:
        """Call a client-side tool through the host and wait for its answer."""
        await self.finish_message()
        return await call_dynamic_tool(self.actor, self.active, tool, arguments, call=call)

    async def update_plan(
        self, call: FunctionCall, plan: list[dict[str, str]], explanation: str | None
    ) -> None:
        """Record the plan call; the host hears ``turn/plan/updated`` (never persisted)."""
        await self.finish_message()
        await self.actor.emit([call])
        note = notes.turn_plan_updated(self.thread_id, self.turn_id, plan, explanation)
        await self.actor.emit([PlanUpdate(plan=plan, explanation=explanation)], transient=[note])
        await self.actor.emit([FunctionCallOutput(call_id=call.call_id, output="Plan updated")])

    async def record_output(self, item: ResponseItem) -> None:
        """Record a tool output the model reads (the driver formats it)."""
        await self.finish_message()
        await self.actor.emit([item])

    def model_input(self) -> list[ResponseItem]:
        """The model-visible history now, with everything this turn recorded so far."""
        return list(self.actor.model_history)
