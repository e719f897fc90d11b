"""``threadlog demo``, ``rename``, ``archive``, ``unarchive``, ``fork`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import copy_codex_home
from threadlog.store.names import find_thread_name

REPO = Path(__file__).resolve().parents[2]
EXTENDED = "01a20ab1-2c33-7ea3-bc90-12778727d285"


def threadlog(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd or REPO,
    )


def test_demo_runs_twice_and_shows_its_threads(tmp_path: Path) -> None:
    first = threadlog("demo", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert Path(summary["home"]) == tmp_path / "threadlog-demo-home"
    assert summary["main"] in summary["threads"] and summary["fork"] in summary["threads"]
    assert summary["archived"] not in summary["threads"]
    assert "failed (the scripted model returned HTTP 500)" in summary["text"]
    assert "hello from a real subprocess" in summary["text"]
    second = threadlog("demo", "--home", str(tmp_path / "threadlog-demo-home"))
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("Demo: a thread with a command") >= 2
    listing = threadlog(
        "list", "--home", str(tmp_path / "threadlog-demo-home"), "--json", "--source", "vscode"
    )
    assert len(json.loads(listing.stdout)["data"]) == 6
    doctor = threadlog("doctor", "--home", str(tmp_path / "threadlog-demo-home"))
    assert doctor.returncode == 0, doctor.stdout


def test_rename_archive_unarchive_fork(tmp_path: Path) -> None:
    home = copy_codex_home("0.105.0", tmp_path / "home")
    renamed = threadlog("rename", EXTENDED, "  from the CLI ", "--home", str(home))
    assert renamed.returncode == 0, renamed.stderr
    assert find_thread_name(home, EXTENDED) == "from the CLI"
    # --before-turn counts turns as `read` shows them: before turn 2 is turn 1 alone
    source = json.loads(
        threadlog("read", EXTENDED, "--turns", "--json", "--home", str(home)).stdout
    )
    turns = source["thread"]["turns"]
    fork = threadlog("fork", EXTENDED, "--before-turn", "2", "--home", str(home), "--json")
    forked = json.loads(fork.stdout)["thread"]
    assert forked["id"] != EXTENDED and len(forked["turns"]) == 1
    assert forked["turns"][0]["items"][0] == {
        **turns[0]["items"][0],
        "id": forked["turns"][0]["items"][0]["id"],
    }
    assert forked["cwd"] == source["thread"]["cwd"]  # the fork keeps the source's cwd
    past = threadlog("fork", EXTENDED, "--before-turn", str(len(turns) + 1), "--home", str(home))
    assert past.returncode == 2 and f"has {len(turns)} turns" in past.stderr
    assert threadlog("archive", EXTENDED, "--home", str(home)).returncode == 0
    assert list((home / "archived_sessions").glob(f"*{EXTENDED}.jsonl"))
    again = threadlog("archive", EXTENDED, "--home", str(home))
    assert again.returncode == 2 and "is archived" in again.stderr
    back = threadlog("unarchive", EXTENDED, "--home", str(home), "--json")
    assert json.loads(back.stdout)["thread"]["name"] == "from the CLI"
    not_archived = threadlog("unarchive", EXTENDED, "--home", str(home))
    assert not_archived.returncode == 2 and "is not archived" in not_archived.stderr
    bad = threadlog("rename", "../etc", "x", "--home", str(home))
    assert bad.returncode == 2 and "invalid thread id" in bad.stderr
    unknown = threadlog("rename", "01a20ab1-2c33-7ea3-bc90-000000000000", "x", "--home", str(home))
    assert (
        unknown.returncode == 2
        and "no thread 01a20ab1-2c33-7ea3-bc90-000000000000" in unknown.stderr
    )
    empty = threadlog("rename", EXTENDED, "   ", "--home", str(home))
    assert empty.returncode == 2 and "must not be empty" in empty.stderr
    assert threadlog("doctor", "--home", str(home)).returncode == 0


def test_thread_ids_may_be_unique_prefixes(tmp_path: Path) -> None:
    home = copy_codex_home("0.105.0", tmp_path / "home")
    unique = EXTENDED[:13]
    shown = threadlog("read", unique, "--json", "--home", str(home))
    assert shown.returncode == 0 and json.loads(shown.stdout)["thread"]["id"] == EXTENDED
    ambiguous = threadlog("read", "01a20ab1", "--home", str(home))
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr
    none = threadlog("read", "ffff0000", "--home", str(home))
    assert none.returncode == 2 and "no thread id starts with 'ffff0000'" in none.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["read", EXTENDED],
        ["turns", EXTENDED],
        ["rename", EXTENDED, "x"],
        ["archive", EXTENDED],
        ["fork", EXTENDED],
        ["doctor"],
        ["backfill"],
    ],
)
def test_a_missing_or_unusable_home_is_a_usage_error_everywhere(
    tmp_path: Path, args: list[str]
) -> None:
    missing = threadlog(*args, "--home", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such Codex home" in missing.stderr
    a_file = tmp_path / "file"
    a_file.write_text("x")
    unusable = threadlog(*args, "--home", str(a_file))
    assert unusable.returncode == 2 and "not a usable Codex home" in unusable.stderr
    before = threadlog("--home", str(tmp_path / "nope"), *args)  # --home before the command
    assert before.returncode == 2 and "no such Codex home" in before.stderr
