"""Small Codex homes made by our own writer, for index tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

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
from threadlog.events.ids import Uuid7Generator
from threadlog.events.timefmt import format_timestamp
from threadlog.store.appender import RolloutAppender
from threadlog.store.layout import new_rollout_path

BASE = datetime(2026, 3, 1, 12, 0, 0)


def thread_lines(thread_id: str, created: datetime, text: str, turns: int = 1) -> list[bytes]:
    """A small complete thread."""
    stamp = format_timestamp(created)
    lines = [
        RolloutLine(
            stamp,
            SessionMeta(
                id=thread_id,
                timestamp=stamp,
                cwd="/work",
                originator="threadlog_tests",
                cli_version="0.105.0",
                source="cli",
                model_provider="openai",
            ),
        )
    ]
    for n in range(turns):
        turn = f"{thread_id[:-4]}{n:04x}"
        lines += [
            RolloutLine(stamp, TaskStarted(turn_id=turn)),
            RolloutLine(stamp, UserMessage(message=f"{text} #{n}")),
            RolloutLine(stamp, AgentMessage(message="ok")),
            RolloutLine(
                stamp,
                TokenCount(
                    info=TokenUsageInfo(total_token_usage=TokenUsage(total_tokens=10 * (n + 1)))
                ),
            ),
            RolloutLine(stamp, TaskComplete(turn_id=turn, last_agent_message="ok")),
        ]
    return [encode_line(line) for line in lines]


def make_home(root: Path, count: int, *, seed_ms: int = 1_772_366_400_000) -> list[Path]:
    """A home with ``count`` one-turn threads, one per second of creation time."""
    gen = Uuid7Generator(clock_ms=lambda: seed_ms)
    paths = []
    for n in range(count):
        created = BASE + timedelta(seconds=n)
        thread_id = gen()
        path = new_rollout_path(root, thread_id, created)
        with RolloutAppender(path, durability="none") as appender:
            appender.append(thread_lines(thread_id, created, f"thread {n}"))
        paths.append(path)
    return paths
