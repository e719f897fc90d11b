"""``threadlog read`` as a user runs it: real subprocess, real corpus home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus.test_read_golden import check_read_state, comparable_thread, project_onto
from tests.support.corpus import CODEX_REAL, copy_codex_home, rewrite_home_prefix

VERSION = "0.105.0"
EXTENDED = "01a20ab1-2c33-7ea3-bc90-12778727d285"
RENAMED = "01a20ab1-1016-7a22-b0af-338a78237cd0"


def threadlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_codex_home(VERSION, tmp_path_factory.mktemp("cli") / "home")


@pytest.mark.parametrize(
    ("thread_id", "turns"), [(EXTENDED, True), (RENAMED, False), (RENAMED, True)]
)
def test_json_output_is_the_thread_read_result(home: Path, thread_id: str, turns: bool) -> None:
    kind = "thread_read" if turns else "thread_read_noturns"
    golden = json.loads((CODEX_REAL / VERSION / "golden" / kind / f"{thread_id}.json").read_text())
    args = ["read", thread_id, "--home", str(home), "--json"] + (["--turns"] if turns else [])
    proc = threadlog(*args)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    expected = rewrite_home_prefix(golden["result"], VERSION, home)
    # the answer is a superset: 0.171's fields and readState are extra for 0.105
    assert project_onto(answer, expected) == expected
    assert set(answer["readState"]) == {"firstUnread", "revision"}


def test_readable_output_shows_turns_and_failures(home: Path) -> None:
    proc = threadlog("read", EXTENDED, "--home", str(home), "--turns")
    assert proc.returncode == 0
    assert "$ /bin/bash -lc 'echo extended-history'" in proc.stdout
    assert "failed: We're currently experiencing high demand" in proc.stdout


@pytest.mark.parametrize(
    ("thread_id", "message"),
    [
        ("../../etc/passwd", "invalid thread id"),
        ("not-a-uuid", "invalid thread id"),
        ("01a20ab1-2c33-7ea3-bc90-000000000000", "no rollout found for thread id"),
    ],
)
def test_bad_or_unknown_ids_exit_2_with_a_message(home: Path, thread_id: str, message: str) -> None:
    proc = threadlog("read", thread_id, "--home", str(home), "--json")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_home_defaults_to_codex_home(home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", "read", RENAMED, "--json"],
        capture_output=True,
        text=True,
        env={"CODEX_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["thread"]["name"] == "Final name (renamed twice)"


@pytest.mark.parametrize("turns", [True, False])
def test_a_current_era_fork_reads_through_its_parent_as_codex_reads_it(
    tmp_path: Path, turns: bool
) -> None:
    version, fork = "0.171.0", "01a23595-1cfb-75b0-9070-8cf3efd3342f"
    home = copy_codex_home(version, tmp_path / "home")
    kind = "thread_read" if turns else "thread_read_noturns"
    golden = json.loads((CODEX_REAL / version / "golden" / kind / f"{fork}.json").read_text())
    proc = threadlog("read", fork, "--home", str(home), "--json", *(["--turns"] if turns else []))
    assert proc.returncode == 0 and proc.stderr == ""
    answer = json.loads(proc.stdout)
    expected = rewrite_home_prefix(golden["result"]["thread"], version, home)
    assert comparable_thread(answer["thread"], expected, home) == expected
    check_read_state(answer["readState"], golden["result"]["readState"])


def test_a_fork_whose_parent_is_gone_reads_its_own_turns_with_a_warning(tmp_path: Path) -> None:
    version, fork = "0.171.0", "01a23595-1cfb-75b0-9070-8cf3efd3342f"
    home = copy_codex_home(version, tmp_path / "home")
    for parent in home.rglob("*01a23595-0a44-7751-bd2b-ceb90b05bfb4.jsonl"):
        parent.unlink()
    proc = threadlog("read", fork, "--home", str(home), "--turns", "--json")
    assert proc.returncode == 0
    assert "history base thread 01a23595-0a44-7751-bd2b-ceb90b05bfb4 not found" in proc.stderr
    assert [
        t["items"][0]["content"][0]["text"] for t in json.loads(proc.stdout)["thread"]["turns"]
    ] == ["Continue in the fork. [[S:fork_cli]]"]
