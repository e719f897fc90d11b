"""Threads made by threadlog's own writer, for tests: no one else's text in a fixture."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadlog.events import RolloutLine, SessionMeta, encode_line
from threadlog.events.event_msgs import (
    AgentMessage,
    TaskComplete,
    TaskStarted,
    TokenCount,
    TokenUsage,
    TokenUsageInfo,
    UserMessage,
)
from threadlog.events.timefmt import format_timestamp
from threadlog.store.ports import LogRef, LogStore


def thread_lines(
    thread_id: str,
    created: datetime,
    text: str,
    turns: int = 1,
    *,
    source: Any = "cli",
    model_provider: str = "openai",
    cwd: str = "/work",
) -> list[bytes]:
    """The encoded lines of a small complete thread of ``turns`` explicit turns."""
    stamp = format_timestamp(created)
    lines = [
        RolloutLine(
            stamp,
            SessionMeta(
                id=thread_id,
                timestamp=stamp,
                cwd=cwd,
                originator="threadlog_tests",
                cli_version="0.105.0",
                source=source,
                model_provider=model_provider,
            ),
        )
    ]
    for n in range(turns):
        turn = f"{thread_id[:-4]}{n:04x}"
        usage = TokenUsageInfo(total_token_usage=TokenUsage(total_tokens=10 * (n + 1)))
        lines += [
            RolloutLine(stamp, TaskStarted(turn_id=turn)),
            RolloutLine(stamp, UserMessage(message=f"{text} #{n}")),
            RolloutLine(stamp, AgentMessage(message="ok")),
            RolloutLine(stamp, TokenCount(info=usage)),
            RolloutLine(stamp, TaskComplete(turn_id=turn, last_agent_message="ok")),
        ]
    return [encode_line(line) for line in lines]


def write_thread(logs: LogStore, thread_id: str, created: datetime, lines: list[bytes]) -> LogRef:
    """A new log holding ``lines``, written through the store's one writer."""
    ref = logs.allocate(thread_id, created)
    writer = logs.open_writer(ref, durability="none")
    try:
        writer.append(lines)
    finally:
        writer.close()
    return ref
