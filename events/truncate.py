"""Middle truncation of long text, as Codex persists command output (``truncate_middle_chars``).

Text within the byte budget is returned unchanged. Otherwise the budget is split into a
head half and a tail half; the longest prefix and suffix that fit their halves on UTF-8
character boundaries are kept and joined by ``…{N} chars truncated…`` (N counts removed
characters, not bytes). The marker comes on top of the budget, as in Codex.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

PERSISTED_EXEC_AGGREGATED_OUTPUT_MAX_BYTES: Final = 10_000


def truncation_marker(removed_chars: int) -> str:
    """The marker that replaces ``removed_chars`` characters."""
    return f"…{removed_chars} chars truncated…"


def _chars_within(chars: Iterable[str], max_bytes: int) -> int:
    """How many of ``chars`` (in order) fit in ``max_bytes`` of UTF-8."""
    used = 0
    count = 0
    for char in chars:
        used += len(char.encode("utf-8"))
        if used > max_bytes:
            break
        count += 1
    return count


def truncate_middle(text: str, max_bytes: int = PERSISTED_EXEC_AGGREGATED_OUTPUT_MAX_BYTES) -> str:
    """Keep the head and tail of ``text`` within ``max_bytes`` (plus the marker)."""
    if len(text) * 4 <= max_bytes or len(text.encode("utf-8")) <= max_bytes:
        return text
    head_budget = max_bytes // 2
    tail_budget = max_bytes - head_budget
    head_chars = _chars_within(text, head_budget)
    tail_chars = _chars_within(reversed(text), tail_budget)
    tail_chars = min(tail_chars, len(text) - head_chars)
    removed = len(text) - head_chars - tail_chars
    tail = text[len(text) - tail_chars :] if tail_chars else ""
    return text[:head_chars] + truncation_marker(removed) + tail
