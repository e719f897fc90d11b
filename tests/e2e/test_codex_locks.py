"""Sharing a home with the real Codex (npm ``@openai/codex@0.171.0``): each refuses to write
a thread the other has open, through Codex's own ``thread-writer-locks``."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.cli import threadlog_on
from tests.support.codex_npm import codex_binary
from threadlog.events.ids import new_id
from threadlog.store.files import FileLogStore
from threadlog.store.names import find_thread_name
from threadlog.testing.homes import thread_lines, write_thread

REPO = Path(__file__).resolve().parents[2]


def rpc(*messages: dict[str, object]) -> bytes:
    return b"".join(json.dumps({"jsonrpc": "2.0", **m}).encode() + b"\n" for m in messages)


INIT = rpc(
    {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "tests", "version": "1"}}},
    {"method": "initialized"},
)


class Server:
    """An app-server process (Codex's or ours) on a home, fed by the test."""

    def __init__(self, argv: list[str], home: Path, cwd: Path) -> None:
        env = {**os.environ, "CODEX_HOME": str(home), "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout

    def send(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def answer(self, request_id: int) -> dict[str, object]:
        timer = threading.Timer(60, self.process.kill)
        timer.start()
        try:
            while True:
                line = self.stdout.readline()
                assert line, "the server ended"
                message = json.loads(line)
                if message.get("id") == request_id and "method" not in message:
                    return dict(message)
        finally:
            timer.cancel()

    def close(self) -> None:
        self.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def codex() -> Path:
    return codex_binary()


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path, str]:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    tid = new_id()
    now = datetime.now(UTC)
    lines = thread_lines(tid, now, "shared thread", source="vscode", cwd=str(work))
    write_thread(FileLogStore(home), tid, now, lines)
    return home, work, tid


def test_a_thread_open_in_codex_is_not_written_by_threadlog(
    codex: Path, shared: tuple[Path, Path, str]
) -> None:
    home, work, tid = shared
    server = Server([str(codex), "app-server"], home, work)
    try:
        server.send(INIT)
        assert "result" in server.answer(1)
        server.send(rpc({"id": 2, "method": "thread/resume", "params": {"threadId": tid}}))
        assert "result" in server.answer(2)
        lock = home / "thread-writer-locks" / f"{tid}.lock"
        assert lock.exists()
        for args in (["rename", tid, "from threadlog"], ["archive", tid]):
            refused = threadlog_on(home, *args)
            assert refused.returncode == 1, refused.stdout
            assert "is open in another writer" in refused.stderr
        assert find_thread_name(home, tid) is None  # nothing was half done
        assert list((home / "sessions").rglob(f"*{tid}.jsonl"))
    finally:
        server.close()
    assert threadlog_on(home, "rename", tid, "after codex").returncode == 0
    assert find_thread_name(home, tid) == "after codex"


def test_a_thread_open_in_threadlog_is_not_written_by_codex(
    codex: Path, shared: tuple[Path, Path, str]
) -> None:
    home, work, tid = shared
    ours = Server([sys.executable, "-m", "threadlog", "serve", "--home", str(home)], home, work)
    try:
        ours.send(INIT)
        ours.answer(1)
        ours.send(rpc({"id": 2, "method": "thread/resume", "params": {"threadId": tid}}))
        assert "result" in ours.answer(2)
        theirs = Server([str(codex), "app-server"], home, work)
        try:
            theirs.send(INIT)
            theirs.answer(1)
            theirs.send(rpc({"id": 2, "method": "thread/resume", "params": {"threadId": tid}}))
            answer = theirs.answer(2)
            assert "already has an active writer" in str(answer.get("error"))
        finally:
            theirs.close()
    finally:
        ours.close()
    assert not (home / "thread-writer-locks" / f"{tid}.lock").exists()  # released, cleanly


def test_names_are_appended_under_codexs_name_index_lock(shared: tuple[Path, Path, str]) -> None:
    home, _, tid = shared
    lock_path = home / "session_index.jsonl.lock"
    holder = open(lock_path, "a+b")  # noqa: SIM115 - held across the subprocess below
    fcntl.flock(holder, fcntl.LOCK_EX)
    rename = subprocess.Popen(
        [sys.executable, "-m", "threadlog", "rename", tid, "waited", "--home", str(home)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with pytest.raises(subprocess.TimeoutExpired):
        rename.wait(timeout=1.0)  # it waits for the lock
    assert find_thread_name(home, tid) is None
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    assert rename.wait(timeout=60) == 0
    assert find_thread_name(home, tid) == "waited"
