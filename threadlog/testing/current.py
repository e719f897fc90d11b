"""Threads in the 0.169+ rollout format, made by threadlog's own writer, for tests.

Lines carry ordinals; turns have ``task_started``/``task_complete`` with timings; items are
``item_completed`` TurnItems with real-looking ids; a turn may fail (its error inside
``task_complete``); a fork refers to its parent with ``history_base`` instead of copying it.
The shapes follow the 0.171 corpus; every text is made up here.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from threadlog.events import RolloutLine, SessionMeta, encode_line
from threadlog.events.event_msgs import ItemCompleted, TaskComplete, TaskStarted
from threadlog.events.rollout import HistoryBase, TurnContext
from threadlog.events.timefmt import format_timestamp_ms

BASE_MS = 1_796_000_000_000


class CurrentTurn(msgspec.Struct, frozen=True):
    """One turn to write: what the user says, what the agent answers, how it ends."""

    text: str
    answer: str | None = "ok"
    command: str | None = None
    error: str | None = None


def _turn_id(thread_id: str, n: int) -> str:
    return f"{thread_id[:-6]}{n:06x}"


class CurrentWriter:
    """Builds one 0.169+ log line by line (ordinals continue a fork's parent)."""

    def __init__(self, thread_id: str, *, first_ordinal: int = 0, at_ms: int = BASE_MS) -> None:
        self.thread_id = thread_id
        self.ordinal = first_ordinal
        self.at_ms = at_ms
        self.lines: list[bytes] = []

    def add(self, item: Any) -> None:
        """Append one line holding ``item``."""
        self.at_ms += 7
        line = RolloutLine(format_timestamp_ms(self.at_ms), item, None, self.ordinal)
        self.lines.append(encode_line(line))
        self.ordinal += 1

    def meta(
        self, *, history_base: HistoryBase | None = None, forked_from: str | None = None
    ) -> None:
        """The session meta (first line)."""
        self.add(
            SessionMeta(
                id=self.thread_id,
                session_id=self.thread_id,
                timestamp=format_timestamp_ms(self.at_ms),
                cwd="/work",
                originator="threadlog_tests",
                cli_version="0.171.0",
                source="exec",
                thread_source="user",
                model_provider="openai",
                history_mode="paginated",
                history_base=history_base if history_base is not None else UNSET,
                forked_from_id=forked_from,
                forked_from_ordinal_exclusive=history_base.end_ordinal_exclusive
                if history_base and history_base.end_ordinal_exclusive is not None
                else UNSET,
            )
        )

    def turn(self, n: int, turn: CurrentTurn) -> str:
        """One whole turn; returns its id."""
        tid = _turn_id(self.thread_id, n)
        started = self.at_ms // 1000
        self.add(TaskStarted(turn_id=tid, root_turn_id=tid, started_at=started))
        self.add(TurnContext(cwd="/work", turn_id=tid, model="gpt-test"))
        self._item(
            tid,
            {
                "type": "UserMessage",
                "id": f"{tid[:-2]}u{n % 10}",
                "content": [{"type": "text", "text": turn.text, "text_elements": []}],
            },
        )
        if turn.command is not None:
            self._item(
                tid,
                {
                    "type": "CommandExecution",
                    "id": f"call_{n}",
                    "command": ["bash", "-lc", turn.command],
                    "cwd": "file:///work",
                    "parsed_cmd": [],
                    "source": "unified_exec_startup",
                    "status": "completed",
                    "aggregated_output": "out\n",
                    "exit_code": 0,
                    "duration": {"secs": 0, "nanos": 2_000_000},
                },
            )
        if turn.answer is not None:
            self._item(
                tid,
                {
                    "type": "AgentMessage",
                    "id": f"msg_{n:06d}",
                    "content": [{"type": "Text", "text": turn.answer}],
                },
            )
        error = {"message": turn.error, "codex_error_info": "other"} if turn.error else None
        self.add(
            TaskComplete(
                turn_id=tid,
                root_turn_id=tid,
                started_at=started,
                completed_at=self.at_ms // 1000,
                duration_ms=40,
                error=error,
            )
        )
        return tid

    def _item(self, turn_id: str, item: dict[str, Any]) -> None:
        self.add(
            ItemCompleted(
                thread_id=self.thread_id,
                turn_id=turn_id,
                item=item,
                started_at_ms=self.at_ms + 7,
                completed_at_ms=self.at_ms + 8,
            )
        )

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return sum(len(line) for line in self.lines)


def current_thread(
    thread_id: str, turns: list[CurrentTurn], *, at_ms: int = BASE_MS
) -> CurrentWriter:
    """A whole 0.169+ thread: meta and turns."""
    writer = CurrentWriter(thread_id, at_ms=at_ms)
    writer.meta()
    for n, turn in enumerate(turns):
        writer.turn(n, turn)
    return writer


def current_fork(
    thread_id: str, parent: CurrentWriter, turns: list[CurrentTurn], *, at_ms: int | None = None
) -> CurrentWriter:
    """A fork by reference of ``parent`` as it is now, then its own turns."""
    base = HistoryBase(parent.thread_id, parent.ordinal, parent.size)
    writer = CurrentWriter(
        thread_id, first_ordinal=parent.ordinal, at_ms=at_ms or parent.at_ms + 1000
    )
    writer.meta(history_base=base, forked_from=parent.thread_id)
    for n, turn in enumerate(turns):
        writer.turn(1000 + n, turn)
    return writer
