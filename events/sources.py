"""Session sources: the on-disk ``SessionSource`` and its v2 and index spellings.

On disk (``session_meta.source``) Codex writes lowercase strings (``"cli"``, ``"vscode"``,
``"exec"``, ``"mcp"``) or objects (``{"subagent": "review"}``, ``{"subagent":
{"thread_spawn": {…}}}``, ``{"custom": "atlas"}``). The v2 API shows the app-server as
``appServer`` and sub-agents as ``{"subAgent": …}``; ``thread/list`` filters on the flat
``ThreadSourceKind`` names. A value we do not recognise maps to ``unknown`` and never raises.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

SOURCE_KINDS: Final = (
    "cli",
    "vscode",
    "exec",
    "appServer",
    "subAgent",
    "subAgentReview",
    "subAgentCompact",
    "subAgentThreadSpawn",
    "subAgentOther",
    "unknown",
)
"""Every v2 ``ThreadSourceKind`` (the ``sourceKinds`` filter of ``thread/list``)."""

INTERACTIVE_SOURCE_KINDS: Final = ("cli", "vscode")
"""What ``thread/list`` shows when no ``sourceKinds`` are given."""

_SIMPLE = {"cli": "cli", "vscode": "vscode", "exec": "exec", "mcp": "appServer"}


def _subagent_of(source: Any) -> Any:
    if isinstance(source, dict) and len(source) == 1:
        key, value = next(iter(source.items()))
        if key in ("subagent", "subAgent", "sub_agent"):
            return value
    return None


def source_kind(source: Any) -> str:
    """The flat ``ThreadSourceKind`` of an on-disk source value."""
    if isinstance(source, str):
        return _SIMPLE.get(source, "unknown")
    sub = _subagent_of(source)
    if sub is None:
        return "unknown"
    if sub == "review":
        return "subAgentReview"
    if sub == "compact":
        return "subAgentCompact"
    if isinstance(sub, dict) and "thread_spawn" in sub:
        return "subAgentThreadSpawn"
    return "subAgentOther"


def source_to_v2(source: Any) -> Any:
    """The v2 ``SessionSource`` JSON value of an on-disk source value."""
    if isinstance(source, str):
        return _SIMPLE.get(source, "unknown")
    sub = _subagent_of(source)
    if sub is None:
        return "unknown"
    return {"subAgent": sub}


def source_to_text(source: Any) -> str:
    """How the index stores a source: the bare string, or compact JSON for objects."""
    if isinstance(source, str):
        return source
    return msgspec.json.encode(source).decode()


def source_from_text(text: str) -> Any:
    """Inverse of ``source_to_text``."""
    if text.startswith(("{", "[", '"')):
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError:
            return text
    return text
