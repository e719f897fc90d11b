"""Human-readable renderings of threads and turns for the terminal (``--json`` off)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from threadlog.events.thread_items import (
    AgentMessageItem,
    CommandExecutionItem,
    ContextCompactionItem,
    DynamicToolCallItem,
    FileChangeItem,
    McpToolCallItem,
    PlanItem,
    ReasoningItem,
    TextInput,
    ThreadItemKind,
    UserMessageItem,
    WebSearchItem,
)
from threadlog.events.views import Thread, Turn


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text.rstrip("\n"), prefix)


def render_item(item: ThreadItemKind) -> str:
    """One item as a few lines of text."""
    if isinstance(item, UserMessageItem):
        text = " ".join(i.text for i in item.content if isinstance(i, TextInput)) or "[image]"
        return f"  user: {text}"
    if isinstance(item, AgentMessageItem):
        return f"  agent: {item.text}"
    if isinstance(item, ReasoningItem):
        return "  reasoning: " + " / ".join(item.summary or item.content)
    if isinstance(item, PlanItem):
        return "  plan:\n" + _indent(item.text)
    if isinstance(item, CommandExecutionItem):
        head = f"  $ {item.command}  [{item.status}, exit {item.exit_code}]"
        return head + ("\n" + _indent(item.aggregated_output) if item.aggregated_output else "")
    if isinstance(item, FileChangeItem):
        return f"  patch [{item.status}]: " + ", ".join(c.path for c in item.changes)
    if isinstance(item, McpToolCallItem | DynamicToolCallItem):
        return f"  tool {item.tool} [{item.status}]"
    if isinstance(item, WebSearchItem):
        return f"  web search: {item.query}"
    if isinstance(item, ContextCompactionItem):
        return "  (context compacted)"
    return f"  ({item.__class__.__name__})"


def render_thread(thread: Thread) -> str:
    """A thread header and, when present, its turns."""
    lines = [
        f"thread {thread.id}" + (f"  \u201c{thread.name}\u201d" if thread.name else ""),
        f"  created {_when(thread.created_at)}, updated {_when(thread.updated_at)}",
        f"  cwd {thread.cwd}   provider {thread.model_provider}   source {thread.source}",
        f"  path {thread.path}",
    ]
    for number, turn in enumerate(thread.turns, 1):
        lines.append(render_turn(turn, f"turn {number}"))
    return "\n".join(lines)


def render_turn(turn: Turn, label: str = "turn") -> str:
    """One turn: its status (and error) and its items."""
    status = turn.status + (f": {turn.error.message}" if turn.error else "")
    when = f", started {_when(turn.started_at)}" if turn.started_at is not None else ""
    lines = [f"\n{label} ({turn.id}) - {status}{when}"]
    lines += [render_item(item) for item in turn.items]
    return "\n".join(lines)
