"""Crash safety with real processes: SIGKILL at random moments never loses an acked line."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crash_child import line
from threadlog.events.event_msgs import AgentMessage
from threadlog.store.appender import RolloutAppender
from threadlog.store.reader import ReadReport, read_rollout

REPO = Path(__file__).resolve().parents[2]
TRIALS = 60


def _numbers(path: Path) -> tuple[list[int], ReadReport]:
    report = ReadReport()
    numbers = []
    for read in read_rollout(path, report=report):
        item = read.line.item
        assert isinstance(item, AgentMessage)
        numbers.append(int(item.message.split()[1]))
    return numbers, report


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_line(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    path = tmp_path / "sessions" / "rollout.jsonl"
    next_n = 0
    acked_total: list[int] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _trial in range(TRIALS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.crash_child", str(path), str(next_n), "100000"],
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        wanted = rng.randint(0, 40)
        acked: list[int] = []
        while len(acked) < wanted:
            text = child.stdout.readline()
            assert text.startswith(b"ack "), text
            acked.append(int(text.split()[1]))
        child.send_signal(signal.SIGKILL)
        # Acks written before the kill may still be in the pipe: they count too.
        for text in child.stdout.read().splitlines():
            if text.startswith(b"ack "):
                acked.append(int(text.split()[1]))
        child.wait()
        acked_total.extend(acked)

        # Healing on reopen, then appending continues on a fresh line.
        with RolloutAppender(path, durability="fsync") as appender:
            marker = 10**9 + _trial
            appender.append(line(marker))
        numbers, report = _numbers(path)
        assert report.issues == [] and report.torn_tail is None
        present = set(numbers)
        assert set(acked_total) <= present
        assert numbers[-1] == marker
        data_lines = [n for n in numbers if n < 10**9]
        assert data_lines == sorted(set(data_lines))  # in order, none duplicated
        next_n = max(data_lines, default=next_n - 1) + 1
    assert len(acked_total) > TRIALS  # the children really did work before dying
