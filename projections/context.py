"""Contextual messages and user turns in the model-visible history (pure).

Codex puts context into the conversation as ordinary-looking messages: a developer message
(permissions, developer instructions, model switches, realtime notices) and a user message
carrying ``# AGENTS.md instructions for …`` and ``<environment_context>``. They are not
things the user said, so previews, titles, fork cut points and compaction must never count
them as user turns. ``CONTEXTUAL_USER_PREFIXES`` is the one table that says which user
messages are context; everything here consults it.

Also here: the slicing of raw rollout items for fork and rollback (Codex section 4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from threadlog.events.codec import decode_payload
from threadlog.events.event_msgs import TaskStarted, ThreadRolledBack
from threadlog.events.response_items import Message, ResponseItem, message_text
from threadlog.events.rollout import Compacted, RolloutItem, TurnContext

SUMMARY_PREFIX: Final = "<compaction_summary>"
"""Opens the user-role message in which a compaction leaves its summary."""

CONTEXTUAL_USER_PREFIXES: Final = (
    SUMMARY_PREFIX,
    "# AGENTS.md instructions for ",
    "<environment_context>",
    "<user_instructions>",
    "<INSTRUCTIONS>",
    "<user_shell_command>",
    "<turn_aborted>",
)
"""A user-role message whose text starts with one of these is context, not a user turn."""


def is_contextual_text(text: str) -> bool:
    """True when a user-role text is context (starts with a prefix from the table)."""
    stripped = text.lstrip()
    return any(stripped.startswith(prefix) for prefix in CONTEXTUAL_USER_PREFIXES)


def is_contextual(message: Message) -> bool:
    """True for a developer/system message or a user message that carries context."""
    if message.role in ("developer", "system"):
        return True
    if message.role != "user":
        return False
    return is_contextual_text(message_text(message))


def is_user_turn(item: RolloutItem) -> bool:
    """True for a response item that is a real user message (a user turn starts here)."""
    return isinstance(item, Message) and item.role == "user" and not is_contextual(item)


def user_turn_positions(items: Sequence[RolloutItem]) -> list[int]:
    """Indexes of the user-turn messages, after applying rollback markers."""
    positions: list[int] = []
    for index, item in enumerate(items):
        if is_user_turn(item):
            positions.append(index)
        elif isinstance(item, ThreadRolledBack):
            count = max(0, item.num_turns)
            if count:
                del positions[-count:]
    return positions


def truncate_before_nth_user_turn(items: Sequence[RolloutItem], n: int | None) -> list[RolloutItem]:
    """The items before the ``n``-th (0-based) user turn; all of them for None.

    The cut also leaves out what opened that turn just before its user message (its
    ``task_started``, ``turn_context`` and context messages), so the copy does not end in an
    empty, never-finished turn. ``n`` past the last user turn gives an empty list, as in
    Codex.
    """
    if n is None:
        return list(items)
    positions = user_turn_positions(items)
    if n < 0 or n >= len(positions):
        return []
    cut = positions[n]
    while cut > 0 and _opens_turn(items[cut - 1]):
        cut -= 1
    return list(items[:cut])


def _is_context_message(item: RolloutItem) -> bool:
    return isinstance(item, Message) and is_contextual(item)


def _opens_turn(item: RolloutItem) -> bool:
    return isinstance(item, TaskStarted | TurnContext) or _is_context_message(item)


def model_history(items: Sequence[RolloutItem]) -> list[ResponseItem]:
    """What the model sees: response items, with compactions and rollbacks applied."""
    history: list[ResponseItem] = []
    turn_starts: list[int] = []
    for item in items:
        if isinstance(item, ResponseItem):
            if is_user_turn(item):
                turn_starts.append(len(history))
            history.append(item)
        elif isinstance(item, Compacted) and item.replacement_history is not None:
            history = []
            turn_starts = []
            for raw in item.replacement_history:
                decoded = decode_payload("response_item", msgspec.json.encode(raw))
                if isinstance(decoded, ResponseItem):
                    if is_user_turn(decoded):
                        turn_starts.append(len(history))
                    history.append(decoded)
        elif isinstance(item, ThreadRolledBack) and item.num_turns > 0:
            keep = max(0, len(turn_starts) - item.num_turns)
            cut = turn_starts[keep] if keep < len(turn_starts) else len(history)
            if keep < len(turn_starts):
                # The context update that opened the first dropped turn goes with it.
                while cut > 0 and _is_context_message(history[cut - 1]):
                    cut -= 1
            del history[cut:]
            del turn_starts[keep:]
    return history
