"""Faults threadlog must survive or report: homes created private whatever the umask, and a
broken index (truncated, garbage, a newer schema, locked) detected at open."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import threadlog_on
from tests.support.sqlite_files import DAMAGES, damage_file

REPO = Path(__file__).resolve().parents[2]


def run_with_umask(args: list[str], umask: int, cwd: Path, stdin: bytes = b"") -> None:
    code = (
        f"import os, sys, runpy; os.umask({umask}); sys.argv = ['threadlog', *sys.argv[1:]]; "
        "runpy.run_module('threadlog', run_name='__main__')"
    )
    subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


def directories(root: Path) -> list[Path]:
    return [root, *(p for p in root.rglob("*") if p.is_dir())]


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_a_home_threadlog_creates_is_private_whatever_the_umask(
    tmp_path: Path, command: str
) -> None:
    home = tmp_path / "deep" / "new-home"
    stdin = b""
    if command == "serve":
        stdin = (
            b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"t"}}}\n'
            b'{"jsonrpc":"2.0","id":2,"method":"thread/start","params":{}}\n'
        )
    run_with_umask([command, "--home", str(home)], 0, tmp_path, stdin)
    assert home.is_dir()
    found = directories(home)
    assert len(found) > 1 or command == "serve"
    for directory in found:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def _indexed_home(tmp_path: Path) -> tuple[Path, list[str]]:
    import json

    from tests.support.corpus import copy_codex_home

    home = copy_codex_home("0.105.0", tmp_path / "home")
    assert threadlog_on(home, "backfill").returncode == 0
    listed = json.loads(threadlog_on(home, "list", "--json", "--all-sources").stdout)["data"]
    return home, [t["id"] for t in listed]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_broken_index_is_moved_aside_and_rebuilt(tmp_path: Path, damage: str) -> None:
    import json

    home, expected = _indexed_home(tmp_path)
    damage_file(home / "threadlog.sqlite", damage)
    listing = threadlog_on(home, "list", "--json", "--all-sources")
    assert listing.returncode == 0, listing.stderr
    assert [t["id"] for t in json.loads(listing.stdout)["data"]] == expected
    if damage != "torn_wal":  # SQLite ignores a WAL whose header does not check out
        assert "index_corrupt_moved_aside" in listing.stderr
        assert list(home.glob("threadlog.sqlite.corrupt-*"))
    assert threadlog_on(home, "backfill").returncode == 0
    doctor = threadlog_on(home, "doctor")
    assert doctor.returncode == 0, doctor.stdout


def test_an_index_from_a_newer_threadlog_is_a_clear_error(tmp_path: Path) -> None:
    import apsw

    home, _ = _indexed_home(tmp_path)
    conn = apsw.Connection(str(home / "threadlog.sqlite"))
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    proc = threadlog_on(home, "list")
    assert proc.returncode == 1 and "newer than this threadlog understands" in proc.stderr
    assert (home / "threadlog.sqlite").exists()  # left as it is: it is not ours to drop


def test_a_locked_index_is_waited_for_and_reads_go_on(tmp_path: Path) -> None:
    import json

    import apsw

    home, expected = _indexed_home(tmp_path)
    holder = apsw.Connection(str(home / "threadlog.sqlite"))
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        # Reads are served while the lock is held (WAL): this returns before it is released.
        listing = threadlog_on(home, "list", "--json", "--all-sources")
        assert listing.returncode == 0, listing.stderr
        assert [t["id"] for t in json.loads(listing.stdout)["data"]] == expected
        # A write waits for the lock (within the busy bound), then goes on.
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        writer = subprocess.Popen(
            [sys.executable, "-m", "threadlog", "replay", "--home", str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=1.0)  # still waiting: the lock is held
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert writer.wait(timeout=60) == 0


def test_a_full_file_fails_the_write_keeps_the_log_whole_and_the_thread_goes_on(
    tmp_path: Path,
) -> None:
    import json

    from threadlog.events import decode_line

    home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.diskfull_child", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    small, refused, failed, again, where = (json.loads(line) for line in proc.stdout.splitlines())
    assert small["status"] == "completed"
    # a request too big for the space left is refused whole: nothing of it is kept
    assert refused["status"] == "notStarted" and "File too large" in refused["error"]
    # an answer that does not fit fails its turn with the reason; the log stays whole
    assert failed["status"] == "failed" and "could not be written" in failed["error"]
    assert again["status"] == "completed" and again["size"] > failed["size"]
    data = Path(where["path"]).read_bytes()
    assert data.endswith(b"\n")
    kinds = [decode_line(raw).kind for raw in data.splitlines()]  # every line decodes
    assert len(kinds) > 10
    doctor = threadlog_on(home, "doctor", "--repair")
    assert "clean" in doctor.stdout.splitlines()[-1], doctor.stdout


def test_a_failed_fsync_stops_the_writer_and_is_never_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from threadlog.store import appender as appender_module
    from threadlog.store.appender import RolloutAppender
    from threadlog.store.ports import WriterClosedError

    line = b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"x"}}\n'
    path = tmp_path / "rollout.jsonl"
    calls: list[int] = []

    def failing_sync(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.EIO, "Input/output error")

    with RolloutAppender(path, durability="fsync") as writer:
        writer.append(line)
        monkeypatch.setattr(appender_module, "_sync", failing_sync)
        with pytest.raises(WriterClosedError, match="Input/output error"):
            writer.append(line)
        with pytest.raises(WriterClosedError):
            writer.append(line)  # refused: no second write after a failed fsync
    assert len(calls) == 1  # the failed fsync was not retried, not even on close
    monkeypatch.undo()
    with RolloutAppender(path, durability="fsync") as reopened:  # a new writer heals and goes on
        reopened.append(line)


def _kill_one(source: Path, original: set[str], home: Path, seed: int) -> str:
    """Run the operations child on a copy of ``source``, kill it at a seeded moment, check
    the home; returns the operation the kill landed in."""
    import json
    import random
    import signal
    import time

    from threadlog.store.files import FileLogStore
    from threadlog.store.reader import ReadReport

    subprocess.run(["cp", "-a", str(source), str(home)], check=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.ops_child", str(home), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    time.sleep(random.Random(seed).uniform(0.6, 2.0))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    ops = [line.split()[1] for line in out.decode().splitlines() if line.startswith("op ")]
    last = ops[-1] if ops else "start"
    logs = FileLogStore(home)
    live = [r.thread_id for r in logs.logs(archived=False)]
    archived = [r.thread_id for r in logs.logs(archived=True)]
    assert not set(live) & set(archived), f"seed {seed}: a thread is live and archived"
    assert original <= set(live) | set(archived), f"seed {seed}: a thread was lost"
    torn: set[str] = set()
    for archived_flag in (False, True):
        for ref in logs.logs(archived=archived_flag):
            report = ReadReport()
            list(logs.read_lines(ref, report=report))
            assert report.issues == [], f"seed {seed}: {report.issues[:1]}"
            if report.torn_tail is not None:
                torn.add(ref.location)
    repaired = threadlog_on(home, "doctor", "--repair")
    check = json.loads(threadlog_on(home, "doctor", "--json").stdout)
    # A kill inside a big line's write() leaves part of it (never acknowledged). The repair
    # ends it with a newline and keeps it, as one reported bad line (bytes are never
    # removed): that, in a file that had a torn tail, is the only leftover allowed.
    leftover = {issue["path"] for issue in check["bad_lines"]}
    others = {k: v for k, v in check.items() if k not in ("bad_lines", "clean", "repaired")}
    clean_but_torn = (
        leftover <= torn
        and check["backfill_status"] == "complete"
        and not any(v for v in others.values() if isinstance(v, list))
    )
    assert check["clean"] or clean_but_torn, f"seed {seed} after {last}: {repaired.stdout}"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    return last


def _kill_matrix(tmp_path: Path, seeds: range, parallel: int = 4) -> dict[str, int]:
    """The seeded crash-point matrix, a few homes at a time (most of a run is waiting)."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.corpus import copy_codex_home
    from threadlog.store.files import FileLogStore

    source = copy_codex_home("0.105.0", tmp_path / "source")
    original = {r.thread_id for a in (False, True) for r in FileLogStore(source).logs(archived=a)}
    with ThreadPoolExecutor(parallel) as pool:
        landed = pool.map(
            lambda seed: _kill_one(source, original, tmp_path / f"home-{seed}", seed), seeds
        )
        return dict(Counter(landed))


def test_kills_between_and_inside_operations_lose_nothing(tmp_path: Path) -> None:
    landed = _kill_matrix(tmp_path, range(6))
    assert sum(landed.values()) == 6


@pytest.mark.slow
def test_kill_matrix_of_200(tmp_path: Path) -> None:
    landed = _kill_matrix(tmp_path, range(100, 300))
    assert sum(landed.values()) == 200
    print("kills by the operation they landed in:", landed)


def test_a_full_name_index_keeps_its_last_complete_line(tmp_path: Path) -> None:
    from threadlog.store.names import append_thread_name, find_thread_name

    home = tmp_path / "home"
    tid = "01a20ab1-2c33-7ea3-bc90-12778727d285"
    append_thread_name(home, tid, "first", "2026-12-02T00:00:00.000Z")
    before = (home / "session_index.jsonl").read_bytes()
    code = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from threadlog.store.names import append_thread_name\n"
        "from threadlog.store.ports import LogWriteError\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "size = Path(sys.argv[1], 'session_index.jsonl').stat().st_size\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, resource.RLIM_INFINITY))\n"
        "try:\n"
        "    append_thread_name(Path(sys.argv[1]), sys.argv[2], 'a much longer name', 'now')\n"
        "except LogWriteError as exc:\n"
        "    print('refused', exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(home), tid],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout.startswith("refused") and "File too large" in proc.stdout, proc.stderr
    assert (home / "session_index.jsonl").read_bytes() == before  # cut back, nothing torn
    assert find_thread_name(home, tid) == "first"


def test_doctor_removes_an_empty_rollout_a_crash_left(tmp_path: Path) -> None:
    import json

    home, expected = _indexed_home(tmp_path)
    day = next((home / "sessions").rglob("*.jsonl")).parent
    empty = day / "rollout-2026-11-23T23-16-14-01a20ab1-ffff-7000-8000-000000000001.jsonl"
    empty.write_bytes(b"")
    first = threadlog_on(home, "doctor")
    assert first.returncode == 1 and "empty rollout files" in first.stdout
    repaired = threadlog_on(home, "doctor", "--repair")
    assert repaired.returncode == 0 and f"removed {empty}" in repaired.stdout
    assert not empty.exists()
    listed = json.loads(threadlog_on(home, "list", "--json", "--all-sources").stdout)["data"]
    assert [t["id"] for t in listed] == expected
