"""Contextual messages and user turns in the model-visible history (pure).

Codex puts context into the conversation as ordinary-looking messages: a developer message
(permissions, developer instructions, model switches, realtime notices) and a user message
carrying ``# AGENTS.md instructions for …`` and ``<environment_context>``. They are not
things the user said, so previews, titles, fork cut points and compaction must never count
them as user turns. ``CONTEXTUAL_FRAGMENTS`` is the one table that says which user
messages are context; everything here consults it. As in Codex, a fragment is recognised by
its whole form (its opening marker at the start and its closing marker at the end, ASCII
case ignored), never by its first characters: a user who types ``<environment_context>``
and goes on wrote a message.

Also here: the slicing of raw rollout items for fork and rollback (Codex section 4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from threadlog.events.codec import decode_payload
from threadlog.events.event_msgs import TaskStarted, ThreadRolledBack
from threadlog.events.response_items import (
    InputText,
    Message,
    OutputText,
    ResponseItem,
    message_text,
)
from threadlog.events.rollout import Compacted, RolloutItem, TurnContext

SUMMARY_PREFIX: Final = "<compaction_summary>"
"""Opens the user-role message in which a compaction leaves its summary."""

CONTEXTUAL_FRAGMENTS: Final[tuple[tuple[str, str], ...]] = (
    ("# AGENTS.md instructions for ", "</INSTRUCTIONS>"),
    ("<environment_context>", "</environment_context>"),
    ("<skill>", "</skill>"),
    ("<user_shell_command>", "</user_shell_command>"),
    ("<turn_aborted>", "</turn_aborted>"),
    ("<subagent_notification>", "</subagent_notification>"),
    ("<additional_context>", "</additional_context>"),
    # the older form of project instructions (before AGENTS.md's own marker)
    ("<user_instructions>", "</user_instructions>"),
    # threadlog's own compaction summary message
    (SUMMARY_PREFIX, SUMMARY_PREFIX.replace("<", "</", 1)),
)
"""(opening, closing) markers of the user-role fragments that are context, not user turns."""


# Lowered once: a user message is checked against every fragment, and is stripped once.
_FRAGMENTS_LOWER: Final = tuple((start.lower(), end.lower()) for start, end in CONTEXTUAL_FRAGMENTS)


def is_contextual_text(text: str) -> bool:
    """True when a user-role text is a contextual fragment, whole (see the table)."""
    text = text.strip()
    size = len(text)
    return any(
        size >= len(start) + len(end)
        and text[: len(start)].lower() == start
        and text[size - len(end) :].lower() == end
        for start, end in _FRAGMENTS_LOWER
    )


def is_contextual(message: Message) -> bool:
    """True for a developer/system message or a user message that carries context."""
    if message.role in ("developer", "system"):
        return True
    if message.role != "user":
        return False
    # Codex checks each text part: one contextual fragment makes the message context.
    parts = [p.text for p in message.content if isinstance(p, InputText | OutputText)]
    return any(is_contextual_text(part) for part in parts) or is_contextual_text(
        message_text(message)
    )


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
