"""The contextual prompt: what the model is told besides the conversation (pure).

At a thread's first turn the model gets its *initial context*: at most one developer
message (permissions, developer instructions, a model switch, a realtime notice) and at
most one contextual user message (the AGENTS.md instructions, ``<environment_context>``),
each fragment one content part, in the natural formats Codex uses. Between turns a change
of settings gives one bundled *update* of the same shape holding only what changed.

What the model was last told is a ``PromptContext``; ``context_of`` rebuilds it from a
``turn_context`` line, which records every field, so a resumed thread knows it too.
Compaction rebuilds the initial context rather than filtering old messages (which would
lose a model switch); see ``compacted_history``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from threadlog.events.event_msgs import ThreadRolledBack
from threadlog.events.response_items import InputText, Message, ResponseItem, message_text
from threadlog.events.rollout import RolloutItem, TurnContext
from threadlog.projections.context import SUMMARY_PREFIX, is_user_turn

_SANDBOX_TEXT = {
    "danger-full-access": "no filesystem sandboxing: commands may read and write anything.",
    "workspace-write": "commands may read files and write inside the workspace roots only.",
    "read-only": "commands may read files but not write them.",
}
_APPROVAL_TEXT = {
    "never": "Commands run without asking; a command that fails is not retried with approval.",
    "on-request": "Ask for approval when a command needs more than the sandbox allows.",
    "on-failure": "Commands run in the sandbox; a failing one may be retried with approval.",
    "untrusted": "Only known-safe commands run without asking; the rest need approval.",
}


class PromptContext(msgspec.Struct, frozen=True):
    """Everything the contextual prompt depends on."""

    cwd: str
    shell: str
    current_date: str
    timezone: str
    model: str
    approval_policy: Any = "never"
    sandbox_policy: Any = None
    developer_instructions: str | None = None
    agents_md: str | None = None
    realtime_active: bool = False


def sandbox_mode(policy: Any) -> str:
    """The sandbox mode name of an on-disk sandbox policy."""
    kind = policy.get("type") if isinstance(policy, dict) else policy
    return kind if isinstance(kind, str) else "danger-full-access"


def permissions_text(ctx: PromptContext) -> str:
    """``<permissions instructions>``: the sandbox mode, network, approval policy."""
    mode = sandbox_mode(ctx.sandbox_policy)
    policy = ctx.sandbox_policy
    network = policy.get("network_access") if isinstance(policy, dict) else None
    network_on = mode == "danger-full-access" or network is True
    approval = ctx.approval_policy if isinstance(ctx.approval_policy, str) else "custom"
    return (
        "<permissions instructions>\n"
        f"Filesystem sandboxing decides what commands may touch. `sandbox_mode` is `{mode}`: "
        f"{_SANDBOX_TEXT.get(mode, 'a custom policy applies.')} "
        f"Network access is {'enabled' if network_on else 'restricted'}.\n"
        f"Approval policy is currently {approval}. "
        f"{_APPROVAL_TEXT.get(approval, 'A custom approval policy applies.')}\n"
        "</permissions instructions>"
    )


def model_switch_text(previous: str, current: str) -> str:
    """``<model_switch>``: the conversation so far came from another model."""
    return (
        "<model_switch>\n"
        f"The conversation so far was produced with the model `{previous}`; you are `{current}` "
        "from here on. Continue it, following your own instructions.\n"
        "</model_switch>"
    )


def realtime_text(active: bool) -> str:
    """``<realtime_conversation>``: a voice session started or ended."""
    state = (
        "A realtime voice conversation is active on this thread; its transcript may arrive "
        "as user input."
        if active
        else "The realtime voice conversation on this thread has ended."
    )
    return f"<realtime_conversation>\n{state}\n</realtime_conversation>"


def agents_md_text(directory: str, instructions: str) -> str:
    """The AGENTS.md fragment in its natural format."""
    return (
        f"# AGENTS.md instructions for {directory}\n\n<INSTRUCTIONS>\n{instructions}\n"
        "</INSTRUCTIONS>"
    )


def environment_context_text(ctx: PromptContext) -> str:
    """``<environment_context>`` with cwd, shell, current_date and timezone."""
    return (
        "<environment_context>\n"
        f"  <cwd>{ctx.cwd}</cwd>\n"
        f"  <shell>{ctx.shell}</shell>\n"
        f"  <current_date>{ctx.current_date}</current_date>\n"
        f"  <timezone>{ctx.timezone}</timezone>\n"
        "</environment_context>"
    )


def _bundle(role: str, parts: Sequence[str]) -> list[Message]:
    if not parts:
        return []
    return [Message(role=role, content=[InputText(text) for text in parts])]


def initial_context(ctx: PromptContext, *, switched_from: str | None = None) -> list[Message]:
    """The developer message and the contextual user message a fresh context starts with."""
    developer = [permissions_text(ctx)]
    if ctx.developer_instructions:
        developer.append(ctx.developer_instructions)
    if switched_from and switched_from != ctx.model:
        developer.append(model_switch_text(switched_from, ctx.model))
    if ctx.realtime_active:
        developer.append(realtime_text(True))
    user = [agents_md_text(ctx.cwd, ctx.agents_md)] if ctx.agents_md else []
    user.append(environment_context_text(ctx))
    return _bundle("developer", developer) + _bundle("user", user)


def context_update(told: PromptContext, now: PromptContext) -> list[Message]:
    """What changed since the model was last told, as at most one message per role."""
    developer: list[str] = []
    if (told.sandbox_policy, told.approval_policy) != (now.sandbox_policy, now.approval_policy):
        developer.append(permissions_text(now))
    if told.developer_instructions != now.developer_instructions and now.developer_instructions:
        developer.append(now.developer_instructions)
    if told.model != now.model:
        developer.append(model_switch_text(told.model, now.model))
    if told.realtime_active != now.realtime_active:
        developer.append(realtime_text(now.realtime_active))
    user: list[str] = []
    if (told.cwd, told.agents_md) != (now.cwd, now.agents_md) and now.agents_md:
        user.append(agents_md_text(now.cwd, now.agents_md))
    environment = ("cwd", "shell", "current_date", "timezone")
    if any(getattr(told, f) != getattr(now, f) for f in environment):
        user.append(environment_context_text(now))
    return _bundle("developer", developer) + _bundle("user", user)


def context_of(turn: TurnContext, shell: str) -> PromptContext:
    """What a ``turn_context`` line says the model was told."""
    return PromptContext(
        cwd=turn.cwd,
        shell=shell,
        current_date=turn.current_date or "",
        timezone=turn.timezone or "",
        model=turn.model,
        approval_policy=turn.approval_policy,
        sandbox_policy=turn.sandbox_policy,
        developer_instructions=turn.developer_instructions,
        agents_md=turn.user_instructions,
        realtime_active=bool(turn.realtime_active),
    )


def told_from(items: Sequence[RolloutItem], shell: str) -> PromptContext | None:
    """What the model was last told, per the log's last ``turn_context`` (None: nothing).

    A rollback after that line may have removed updates from the model's history, so it
    leaves the model told nothing: the next turn re-sends the whole initial context.
    """
    for item in reversed(items):
        if isinstance(item, ThreadRolledBack):
            return None
        if isinstance(item, TurnContext):
            return context_of(item, shell)
    return None


def first_model(items: Sequence[RolloutItem]) -> str | None:
    """The model the conversation began under (its first ``turn_context``)."""
    first = next((i for i in items if isinstance(i, TurnContext) and i.model), None)
    return first.model if first is not None else None


SUMMARY_CLIP = 2000


def default_summary(history: Sequence[ResponseItem]) -> str:
    """A plain digest of a history for drivers that cannot summarize: what the user asked
    (each message clipped) and the assistant's last answer."""
    asked = user_texts(history)
    answers = [message_text(i) for i in history if isinstance(i, Message) and i.role == "assistant"]
    lines = [f"The user's messages so far ({len(asked)}):"]
    lines += [f"- {_clip(text)}" for text in asked]
    if answers:
        lines.append(f"The assistant's last answer: {_clip(answers[-1])}")
    return "\n".join(lines)


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CLIP else flat[: SUMMARY_CLIP - 1] + "…"


def summary_message(summary: str) -> Message:
    """The user-role message a compaction leaves its summary in (contextual, by prefix)."""
    text = f"{SUMMARY_PREFIX}\n{summary}\n{SUMMARY_PREFIX.replace('<', '</', 1)}"
    return Message(role="user", content=[InputText(text)])


def compacted_history(
    history: Sequence[ResponseItem],
    ctx: PromptContext,
    summary: str,
    *,
    first_model: str | None,
) -> list[ResponseItem]:
    """The replacement history of a compaction: a rebuilt initial context, the user's own
    messages, then the summary. The initial context is built anew for the current settings
    (with the model switch when the conversation began under another model), never pieced
    together from the old context messages.
    """
    kept: list[ResponseItem] = [item for item in history if is_user_turn(item)]
    return [
        *initial_context(ctx, switched_from=first_model),
        *kept,
        summary_message(summary),
    ]


def user_texts(history: Sequence[ResponseItem]) -> list[str]:
    """The user's own messages in a history (context and summaries left out)."""
    return [message_text(i) for i in history if isinstance(i, Message) and is_user_turn(i)]
