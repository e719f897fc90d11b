"""The contextual prompt and compaction, as the actor runs them (the shell side).

The pure part (what the fragments say, what an update holds, what a compaction keeps) is
``projections.prompt``; here the inputs are gathered (clock, zone, AGENTS.md files, the
realtime state) and the results are recorded through the actor like any other items.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import trio

from threadlog.actors.drivers.protocol import Driver
from threadlog.actors.runtime.services import ThreadOwner
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.actors.shell.agents_md import agents_md
from threadlog.actors.shell.environment import current_environment
from threadlog.events import notifications as notes
from threadlog.events.errors import InvalidRequestError, TurnAlreadyRunningError
from threadlog.events.event_msgs import ContextCompacted, TaskComplete, TaskStarted
from threadlog.events.ids import new_id
from threadlog.events.response_items import Message, ResponseItem
from threadlog.events.rollout import Compacted, TurnContext
from threadlog.projections.context import model_history
from threadlog.projections.prompt import (
    PromptContext,
    compacted_history,
    context_update,
    default_summary,
    initial_context,
)


async def prompt_context(
    home: Path, settings: ThreadSettings, realtime_active: bool
) -> PromptContext:
    """The context the model should have now, for these settings."""
    env = current_environment(settings.cwd)
    instructions = await trio.to_thread.run_sync(agents_md, home, settings.cwd)
    return PromptContext(
        cwd=settings.cwd,
        shell=env.shell,
        current_date=env.current_date,
        timezone=env.timezone,
        model=settings.model,
        approval_policy=settings.approval_policy,
        sandbox_policy=settings.sandbox_policy,
        developer_instructions=settings.developer_instructions,
        agents_md=instructions,
        realtime_active=realtime_active,
    )


def context_messages(
    told: PromptContext | None, now: PromptContext, began_under: str | None
) -> list[Message]:
    """The initial context for a model told nothing yet (noting a switch from the model
    the conversation began under), else the bundled update."""
    if told is None:
        return initial_context(now, switched_from=began_under)
    return context_update(told, now)


def turn_context(now: PromptContext, settings: ThreadSettings, turn_id: str) -> TurnContext:
    """The ``turn_context`` line recording what this turn ran with and told the model."""
    return TurnContext(
        cwd=now.cwd,
        turn_id=turn_id,
        current_date=now.current_date,
        timezone=now.timezone,
        approval_policy=now.approval_policy,
        sandbox_policy=now.sandbox_policy,
        model=now.model,
        realtime_active=now.realtime_active,
        effort=settings.effort,
        summary=settings.summary,
        user_instructions=now.agents_md,
        developer_instructions=now.developer_instructions,
    )


async def summarize(driver: Driver, history: Sequence[ResponseItem]) -> str:
    """The driver's summary of a history when it can write one, else a plain digest."""
    summarizer: Any = getattr(driver, "summarize", None)
    if summarizer is not None:
        text = await summarizer(list(history))
        if isinstance(text, str) and text.strip():
            return text.strip()
    return default_summary(history)


async def compact(actor: ThreadOwner) -> str:
    """Replace the model-visible history by a rebuilt initial context and a summary.

    Runs as a turn of its own (``task_started`` … ``task_complete``) whose one item is the
    ``contextCompaction``. Returns the turn id.
    """
    if actor.active is not None:
        raise TurnAlreadyRunningError(f"cannot compact thread {actor.thread_id} while a turn runs")
    if not actor.recorder.materialized:
        raise InvalidRequestError(f"thread {actor.thread_id} has no history to compact yet")
    settings = actor.settings
    session = actor.realtime
    realtime_active = session is not None and session.active
    now = await prompt_context(actor.services.home, settings, realtime_active)
    summary = await summarize(actor.services.driver, actor.model_history)
    replacement = compacted_history(
        actor.model_history, now, summary, first_model=actor.first_model
    )
    turn_id = new_id()
    await actor.emit(
        [
            TaskStarted(turn_id=turn_id, collaboration_mode_kind=settings.collaboration_mode),
            Compacted(message=summary, replacement_history=msgspec.to_builtins(replacement)),
            turn_context(now, settings, turn_id),
            ContextCompacted(),
            TaskComplete(turn_id=turn_id),
        ]
    )
    actor.model_history = model_history(replacement)
    actor.told = now
    turn = actor.history.turn(turn_id)
    if turn is not None:
        actor.publish(notes.turn_completed(actor.thread_id, turn))
    return turn_id
