"""``threadlog demo``, ``rename``, ``archive``, ``unarchive``, ``fork`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    fork = threadlog("fork", EXTENDED, "--before-turn", "1", "--home", str(home), "--json")
    forked = json.loads(fork.stdout)["thread"]
    assert forked["id"] != EXTENDED and len(forked["turns"]) == 1
    assert threadlog("archive", EXTENDED, "--home", str(home)).returncode == 0
    assert list((home / "archived_sessions").glob(f"*{EXTENDED}.jsonl"))
    again = threadlog("archive", EXTENDED, "--home", str(home))
    assert again.returncode == 2 and "no rollout found" in again.stderr
    back = threadlog("unarchive", EXTENDED, "--home", str(home), "--json")
    assert json.loads(back.stdout)["thread"]["name"] == "from the CLI"
    bad = threadlog("rename", "../etc", "x", "--home", str(home))
    assert bad.returncode == 2 and "invalid thread id" in bad.stderr
    empty = threadlog("rename", EXTENDED, "   ", "--home", str(home))
    assert empty.returncode == 1 and "must not be empty" in empty.stderr
    assert threadlog("doctor", "--home", str(home)).returncode == 0
