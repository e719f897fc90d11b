"""``threadlog serve --listen ws://`` and ``unix://`` with the real Codex client (npm
``@openai/codex@0.171.0``) and with hostile clients."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import threadlog_on
from tests.support.codex_npm import codex_binary
from tests.support.schemas import assert_transcript_valid

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def serving(home: Path, listen: str, cwd: Path, transcript: Path | None = None) -> Iterator[str]:
    """``threadlog serve --listen`` as a real process; yields the URL it listens on."""
    recording = ["--transcript", str(transcript)] if transcript is not None else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threadlog",
            "serve",
            "--home",
            str(home),
            "--listen",
            listen,
            "--log-format",
            "json",
            *recording,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stderr is not None
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, "serve ended before it listened"
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "listening":
                url = str(event["url"])
        assert url is not None
        yield url
        assert process.poll() is None, "serve died"
    finally:
        process.kill()
        process.wait()


def codex(binary: Path, client_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODEX_HOME": str(client_home)},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def binary() -> Path:
    return codex_binary()


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, work, client = tmp_path / "home", tmp_path / "work", tmp_path / "client-home"
    work.mkdir()
    client.mkdir()
    return home, work, client


def test_codex_exec_runs_and_resumes_a_thread_over_websocket(
    binary: Path, places: tuple[Path, Path, Path]
) -> None:
    home, work, client = places
    transcript = home.parent / "transcript.jsonl"
    with serving(home, "ws://127.0.0.1:0", work, transcript) as url:
        first = codex(binary, client, "exec", "--remote", url, "--skip-git-repo-check", "hello")
        assert first.returncode == 0, first.stderr[-1500:]
        assert first.stdout.strip() == "Echo: hello"
        tid = first.stderr.split("thread id: ")[1].split()[0]
        again = codex(
            binary, client, "exec", "--remote", url, "--skip-git-repo-check", "resume", tid, "more"
        )
        assert again.returncode == 0, again.stderr[-1500:]
        assert again.stdout.strip() == "Echo: more"
    read = json.loads(threadlog_on(home, "read", tid, "--turns", "--json").stdout)
    texts = [t["items"][0]["content"][0]["text"] for t in read["thread"]["turns"]]
    assert texts == ["hello", "more"]
    listed = json.loads(threadlog_on(home, "list", "--json", "--all-providers").stdout)["data"]
    assert [t["id"] for t in listed] == [tid]
    # everything serve said to the real client is what 0.171's schema allows
    assert assert_transcript_valid(transcript, "0.171.0") > 20


def test_codex_archive_and_unarchive_over_a_unix_socket(
    binary: Path, places: tuple[Path, Path, Path]
) -> None:
    home, work, client = places
    sock = home.parent / "sockets" / "app.sock"
    transcript = home.parent / "transcript.jsonl"
    with serving(home, f"unix://{sock}", work, transcript) as url:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        made = codex(binary, client, "exec", "--remote", url, "--skip-git-repo-check", "to archive")
        assert made.returncode == 0, made.stderr[-1500:]
        tid = made.stderr.split("thread id: ")[1].split()[0]
        archived = codex(binary, client, "archive", "--remote", url, tid)
        assert (
            archived.returncode == 0
            and f"Archived session {tid}" in archived.stdout + archived.stderr
        )
        assert list((home / "archived_sessions").glob(f"*{tid}.jsonl"))
        back = codex(binary, client, "unarchive", "--remote", url, tid)
        assert back.returncode == 0 and f"Unarchived session {tid}" in back.stdout + back.stderr
        assert not list((home / "archived_sessions").glob(f"*{tid}.jsonl"))
    assert assert_transcript_valid(transcript, "0.171.0") > 20


def test_a_stale_socket_is_replaced_and_a_live_one_refused(places: tuple[Path, Path, Path]) -> None:
    home, work, _ = places
    sock = home.parent / "sockets" / "app.sock"
    sock.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()  # the file stays, nobody listens
    with serving(home, f"unix://{sock}", work):
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "threadlog",
                "serve",
                "--home",
                str(home),
                "--listen",
                f"unix://{sock}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=work,
        )
        assert second.returncode == 1 and "in use by a running server" in second.stderr


def test_non_loopback_needs_a_flag_and_bad_urls_are_usage_errors(tmp_path: Path) -> None:
    for url, message in (
        ("ws://0.0.0.0:9", "--allow-remote"),
        ("ws://localhost", "expected ws://IP:PORT"),
        ("tcp://127.0.0.1:9", "expected stdio://"),
    ):
        proc = threadlog_on(tmp_path / "home", "serve", "--listen", url)
        assert proc.returncode == 2 and message in proc.stderr


async def test_hostile_websocket_clients_do_not_disturb_the_others(
    places: tuple[Path, Path, Path],
) -> None:
    import trio
    from trio_websocket import ConnectionClosed, open_websocket_url

    home, work, _ = places
    with serving(home, "ws://127.0.0.1:0", work) as url:
        host, port = url[len("ws://") :].rsplit(":", 1)

        async def raw(data: bytes) -> None:
            stream = await trio.open_tcp_stream(host, int(port))
            await stream.send_all(data)
            with trio.move_on_after(2):
                await stream.receive_some(1024)
            await stream.aclose()

        # not WebSocket at all, and 200 connections opened and dropped at once
        await raw(b"hello, this is not HTTP\r\n\r\n")
        async with trio.open_nursery() as nursery:
            for _ in range(200):
                nursery.start_soon(raw, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

        async def rpc(ws: object, message: dict[str, object]) -> dict[str, object]:
            await ws.send_message(json.dumps({"jsonrpc": "2.0", **message}))  # type: ignore[attr-defined]
            while True:
                answer = json.loads(await ws.get_message())  # type: ignore[attr-defined]
                if answer.get("id") == message.get("id"):
                    return dict(answer)

        init = {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t"}}}
        async with open_websocket_url(url) as good, open_websocket_url(url) as other:
            assert "result" in await rpc(good, init)
            assert "result" in await rpc(other, init)
            # a binary frame is not a JSON-RPC message: an error, the session goes on
            await good.send_message(b"\x00\x01")
            assert json.loads(await good.get_message())["error"]["code"] == -32600
            # an oversized frame closes only that connection
            with pytest.raises(ConnectionClosed):
                await other.send_message("x" * (17 << 20))
                await other.get_message()
            started = await rpc(good, {"id": 2, "method": "thread/start", "params": {}})
            assert "result" in started
        # a client that never reads: opened, fed, left; the server still answers others
        stalled = await trio.open_tcp_stream(host, int(port))
        await stalled.send_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with open_websocket_url(url) as later:
            assert "result" in await rpc(later, init)
            listed = await rpc(later, {"id": 3, "method": "thread/loaded/list", "params": {}})
            assert "result" in listed
        await stalled.aclose()


async def test_two_clients_on_one_thread_both_see_its_turn(places: tuple[Path, Path, Path]) -> None:
    from trio_websocket import open_websocket_url

    home, work, _ = places
    with serving(home, "ws://127.0.0.1:0", work) as url:
        init = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"clientInfo": {"name": "t"}},
            }
        )

        async def completed(ws: object, thread_id: str) -> dict[str, object]:
            while True:
                message = json.loads(await ws.get_message())  # type: ignore[attr-defined]
                params = message.get("params") or {}
                if message.get("method") == "turn/completed" and params["threadId"] == thread_id:
                    return dict(params)

        async with open_websocket_url(url) as one, open_websocket_url(url) as two:
            for ws in (one, two):
                await ws.send_message(init)
                await ws.get_message()
            await one.send_message(
                json.dumps({"jsonrpc": "2.0", "id": 2, "method": "thread/start", "params": {}})
            )
            thread_id = ""
            while not thread_id:
                message = json.loads(await one.get_message())
                if message.get("id") == 2:
                    thread_id = message["result"]["thread"]["id"]
            await one.send_message(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": 3,
                        "method": "turn/start",
                        "params": {
                            "threadId": thread_id,
                            "input": [{"type": "text", "text": "both"}],
                        },
                    }
                )
            )
            seen_by_one = await completed(one, thread_id)
            seen_by_two = await completed(two, thread_id)
            assert seen_by_one == seen_by_two
            assert seen_by_one["turn"]["items"][0]["text"] == "Echo: both"  # type: ignore[index]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_200_clients_run_turns_and_list_at_once(places: tuple[Path, Path, Path]) -> None:
    import trio
    from trio_websocket import open_websocket_url

    home, work, _ = places
    with serving(home, "ws://127.0.0.1:0", work) as url:
        pids = subprocess.run(
            ["pgrep", "-f", "--", f"--home {home} --listen"], capture_output=True, text=True
        ).stdout.split()
        pid = int(pids[0])
        before = _rss_kb(pid)
        done: dict[int, str] = {}

        async def client(n: int) -> None:
            async with open_websocket_url(url, message_queue_size=4096) as ws:

                async def call(
                    rid: int, method: str, params: dict[str, object]
                ) -> dict[str, object]:
                    await ws.send_message(
                        json.dumps(
                            {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
                        )
                    )
                    while True:
                        message = json.loads(await ws.get_message())
                        if message.get("id") == rid and "method" not in message:
                            return dict(message)
                        note(message)

                finished: list[str] = []

                def note(message: dict[str, object]) -> None:
                    params = message.get("params")
                    if message.get("method") == "turn/completed" and isinstance(params, dict):
                        finished.append(str(params["threadId"]))

                await call(1, "initialize", {"clientInfo": {"name": f"load-{n}"}})
                started = await call(2, "thread/start", {})
                tid = started["result"]["thread"]["id"]  # type: ignore[index]
                await call(
                    3,
                    "turn/start",
                    {
                        "threadId": tid,
                        "input": [{"type": "text", "text": f"load {n}"}],
                    },
                )
                listed = await call(4, "thread/list", {"limit": 5, "modelProviders": []})
                assert "result" in listed
                while tid not in finished:
                    note(json.loads(await ws.get_message()))
                done[n] = tid

        with trio.fail_after(300):
            async with trio.open_nursery() as nursery:
                for n in range(200):
                    nursery.start_soon(client, n)
        assert len(done) == 200 and len(set(done.values())) == 200
        after = _rss_kb(pid)
        assert after - before < 400_000, (before, after)  # bounded: well under 400 MB more
    page = threadlog_on(home, "list", "--json", "--all-providers", "--limit", "100")
    assert len(json.loads(page.stdout)["data"]) == 100  # every turn reached the log


def test_the_codex_tui_runs_a_typed_prompt_and_exits(
    binary: Path, places: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, work, client = places
    exited = tmp_path / "tui-exited"
    session = f"threadlog-tui-{os.getpid()}"
    transcript = tmp_path / "transcript.jsonl"

    def pane() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True
        ).stdout

    def wait_for(text: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = pane()
            if text in shown:
                return shown
            time.sleep(0.3)
        raise AssertionError(f"{text!r} never showed:\n{pane()}")

    with serving(home, "ws://127.0.0.1:0", work, transcript) as url:
        command = f"cd {work} && CODEX_HOME={client} {binary} --remote {url}; echo $? > {exited}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", command],
            check=True,
        )
        try:
            screen = wait_for("Ask Codex to do anything")
            assert "failed" not in screen, screen  # the bootstrap calls were all answered
            subprocess.run(["tmux", "send-keys", "-t", session, "hello from the tui"], check=True)
            time.sleep(0.5)
            subprocess.run(["tmux", "send-keys", "-t", session, "C-m"], check=True)
            wait_for("Echo: hello from the tui")
            subprocess.run(["tmux", "send-keys", "-t", session, "/quit"], check=True)
            time.sleep(0.5)
            subprocess.run(["tmux", "send-keys", "-t", session, "C-m"], check=True)
            deadline = time.monotonic() + 30
            while not exited.exists() and time.monotonic() < deadline:
                if "/quit" in pane():  # the command popup may want one more Enter
                    subprocess.run(["tmux", "send-keys", "-t", session, "C-m"], check=False)
                time.sleep(0.5)
            assert exited.exists() and exited.read_text().strip() == "0"
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    listed = json.loads(threadlog_on(home, "list", "--json", "--all-providers").stdout)["data"]
    assert [t["preview"] for t in listed] == ["hello from the tui"]
    assert assert_transcript_valid(transcript, "0.171.0") > 20
