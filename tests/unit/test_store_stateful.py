"""Hypothesis: any sequence of appends, crashes that tear the tail, and reopenings reads back
as exactly the acknowledged lines in order (damage shows only as reported bad lines)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.support.crash_child import line
from threadlog.events.event_msgs import AgentMessage
from threadlog.store.appender import RolloutAppender
from threadlog.store.reader import ReadReport, read_rollout


class AppendTearReopen(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "rollout.jsonl"
        self.appender: RolloutAppender | None = RolloutAppender(self.path, durability="flush")
        self.acked: list[int] = []
        self.next = 0
        self.tears = 0

    def teardown(self) -> None:
        if self.appender is not None:
            self.appender.close()
        self.dir.cleanup()

    def _open(self) -> RolloutAppender:
        if self.appender is None:
            self.appender = RolloutAppender(self.path, durability="flush")
        return self.appender

    @rule(count=st.integers(min_value=1, max_value=5))
    def append(self, count: int) -> None:
        appender = self._open()
        numbers = list(range(self.next, self.next + count))
        appender.append([line(n) for n in numbers])
        self.acked.extend(numbers)
        self.next += count

    @rule(
        garbage=st.sampled_from(
            [b'{"timestamp":"2026', b'{"a":"\xe2\x82', b"\x00" * 64, b'{"x":1}', b"zz\x00\x00"]
        )
    )
    def crash_with_torn_tail(self, garbage: bytes) -> None:
        """A writer died mid-line: its fragment is left at the end, then the file is reopened."""
        if self.appender is not None:
            self.appender.close()
            self.appender = None
        with self.path.open("ab") as stream:
            stream.write(garbage)
        if garbage.strip(b"\x00"):
            self.tears += 1

    @rule()
    def reopen(self) -> None:
        if self.appender is not None:
            self.appender.close()
        self.appender = None
        self._open()

    @invariant()
    def reads_back_the_acked_lines(self) -> None:
        if self.appender is not None:
            self.appender.flush()
        report = ReadReport()
        numbers = []
        for read in read_rollout(self.path, report=report):
            item = read.line.item
            if isinstance(item, AgentMessage):
                numbers.append(int(item.message.split()[1]))
        assert numbers == self.acked
        # Each healed fragment became exactly one reported bad line (or the pending tail).
        pending = 1 if report.torn_tail is not None else 0
        assert len(report.issues) + pending <= self.tears


AppendTearReopen.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None
)
TestAppendTearReopen = AppendTearReopen.TestCase
