"""Loading a thread's state back from its log (resume, and reload after passivation).

The thread's identity is its first ``session_meta``; its settings are the last
``turn_context``'s (falling back to the meta); what the model was last told is rebuilt
from that ``turn_context`` too, so the next turn sends only changes. Blocking: run in a
worker thread.
"""

from __future__ import annotations

import msgspec

from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.errors import CorruptRolloutError, ThreadNotFoundError
from threadlog.events.rollout import RolloutItem, SessionMeta, TurnContext
from threadlog.projections.index.lineage import history_lines
from threadlog.projections.prompt import PromptContext, told_from
from threadlog.store.ports import LogRef, LogStore


class LoadedThread(msgspec.Struct):
    """Everything an actor needs to continue a thread from its log."""

    ref: LogRef
    meta: SessionMeta
    items: list[RolloutItem]
    settings: ThreadSettings
    name: str | None
    told: PromptContext | None


def settings_from(
    meta: SessionMeta, context: TurnContext | None, defaults: ThreadSettings
) -> ThreadSettings:
    """A thread's settings as its log last recorded them."""
    if context is None:
        return msgspec.structs.replace(defaults, cwd=meta.cwd or defaults.cwd)
    return msgspec.structs.replace(
        defaults,
        cwd=context.cwd or meta.cwd or defaults.cwd,
        model=context.model or defaults.model,
        approval_policy=context.approval_policy
        if context.approval_policy is not None
        else defaults.approval_policy,
        sandbox_policy=context.sandbox_policy
        if context.sandbox_policy is not None
        else defaults.sandbox_policy,
        effort=context.effort,
        developer_instructions=context.developer_instructions,
    )


def load_thread(
    logs: LogStore, thread_id: str, defaults: ThreadSettings, shell: str
) -> LoadedThread:
    """Read a live (not archived) thread's log; ``ThreadNotFoundError`` when there is none."""
    ref = logs.locate(thread_id, archived=False)
    if ref is None:
        raise ThreadNotFoundError(thread_id)
    items = [read.line.item for read in history_lines(logs, ref)]
    meta = next((i for i in items if isinstance(i, SessionMeta)), None)
    if meta is None:
        raise CorruptRolloutError(f"failed to load rollout {ref.location}: empty session file")
    context = next((i for i in reversed(items) if isinstance(i, TurnContext)), None)
    return LoadedThread(
        ref=ref,
        meta=meta,
        items=items,
        settings=settings_from(meta, context, defaults),
        name=logs.name_of(thread_id),
        told=told_from(items, shell),
    )
