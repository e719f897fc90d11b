"""The persistence policy: which rollout items a thread writes, and how (Codex section 3).

``session_meta``, ``turn_context`` and ``compacted`` are always written; every modelled
``response_item`` is written (Codex's catch-all ``other`` kind is never persisted, so
unknown response items are not either). ``event_msg`` depends on the thread's mode and on
the kind's row in ``projections.event_kinds``: ``limited`` (the default) keeps the
message-level events; ``extended`` adds errors and the ends of tool calls; ``item_completed``
is kept only for ``Plan`` items, which have no other way back on replay. Before writing in
extended mode, ``exec_command_end`` loses its ``stdout``/``stderr``/``formatted_output`` and
keeps at most 10,000 bytes of aggregated output, cut in the middle. Pure: the actor and
the tests share it.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from threadlog.events.event_msgs import EventMsg, ItemCompleted, plan_item_of
from threadlog.events.response_items import ResponseItem
from threadlog.events.rollout import Compacted, RolloutItem, SessionMeta, TurnContext
from threadlog.events.tool_events import ExecCommandEnd
from threadlog.events.truncate import PERSISTED_EXEC_AGGREGATED_OUTPUT_MAX_BYTES, truncate_middle
from threadlog.projections.event_kinds import kind_of

PersistenceMode = Literal["limited", "extended"]
PERSISTENCE_MODES: Final = ("limited", "extended")


def is_persisted(item: RolloutItem, mode: PersistenceMode) -> bool:
    """Whether a thread in ``mode`` writes ``item`` to its rollout file."""
    if isinstance(item, SessionMeta | TurnContext | Compacted | ResponseItem):
        return True
    if not isinstance(item, EventMsg):
        return False  # unknown kinds are never produced live, so never written
    row = kind_of(type(item))
    keep = row.keep if row is not None else "never"
    if keep == "plan":
        return isinstance(item, ItemCompleted) and plan_item_of(item) is not None
    return keep == "always" or (keep == "extended" and mode == "extended")


def sanitize_for_persistence(item: RolloutItem, mode: PersistenceMode) -> RolloutItem:
    """The form in which ``item`` is written (only ``exec_command_end`` changes, extended)."""
    if mode == "extended" and isinstance(item, ExecCommandEnd):
        return msgspec.structs.replace(
            item,
            stdout="",
            stderr="",
            formatted_output="",
            aggregated_output=truncate_middle(
                item.aggregated_output, PERSISTED_EXEC_AGGREGATED_OUTPUT_MAX_BYTES
            ),
        )
    return item


def persisted_form(item: RolloutItem, mode: PersistenceMode) -> RolloutItem | None:
    """What gets written for ``item`` in ``mode``, or None when nothing is."""
    if not is_persisted(item, mode):
        return None
    return sanitize_for_persistence(item, mode)
