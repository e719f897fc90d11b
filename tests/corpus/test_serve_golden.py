"""Acceptance: the golden requests of the real app-server, replayed against ``threadlog serve``
on a copy of the same home, give the same results (thread/read, every thread/list variant,
every thread/turns/list page)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.test_list_golden import compare_walk
from tests.corpus.test_read_golden import KNOWN_SERVER_ERRORS, check_read_state, comparable_thread
from tests.support.corpus import (
    CODEX_REAL,
    CODEX_REAL_VERSIONS,
    CURRENT_VERSIONS,
    copy_codex_home,
    rewrite_home_prefix,
)
from tests.support.nats import log_url
from tests.support.rpc_client import REPO, RpcClient, start_server
from tests.support.schemas import assert_transcript_valid
from threadlog.store.files import FileLogStore


def _index_flags(request: pytest.FixtureRequest, backend: str, home: Path) -> tuple[str, ...]:
    """serve's flags for the backends; on PostgreSQL the home is backfilled into a schema
    of its own first, so every listing below is the index's answer; on JetStream the home
    is imported into a stream of its own (and indexed), so every answer comes from there."""
    if backend == "sqlite":
        return ()
    dsn = request.getfixturevalue("postgres_dsn")
    flags: tuple[str, ...] = ("--index", dsn, "--index-schema", f"g_{uuid.uuid4().hex[:12]}")
    command = "backfill"
    if backend == "jetstream":
        flags = ("--log", log_url(request.getfixturevalue("nats_server_info")), *flags)
        command = "import"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", command, "--home", str(home), *flags],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return flags


_NATS_LOCATION = re.compile(r"nats://[A-Za-z0-9_-]+/(?:sessions|archived)/\d{13}-([0-9a-f-]{36})")


def _as_file_paths(home: Path) -> Callable[[Any], Any]:
    """Our answers with each JetStream location replaced by the rollout file it was
    imported from (what the real server, reading files, shows as ``path``)."""
    files = FileLogStore(home)
    paths = {r.thread_id: r.location for a in (False, True) for r in files.logs(archived=a)}

    def rewrite(value: Any) -> Any:
        text, count = _NATS_LOCATION.subn(lambda m: paths[m[1]], json.dumps(value))
        rewritten.append(count)
        return json.loads(text)

    rewritten: list[int] = []
    rewrite.rewritten = rewritten  # type: ignore[attr-defined]
    return rewrite


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "jetstream"])
@pytest.mark.parametrize("version", CODEX_REAL_VERSIONS)
async def test_golden_requests_replayed_against_serve(
    request: pytest.FixtureRequest, tmp_path: Path, version: str, backend: str
) -> None:
    home = copy_codex_home(version, tmp_path / "home")
    golden = CODEX_REAL / version / "golden"
    mismatches: list[str] = []
    transcript = tmp_path / "transcript.jsonl"
    flags = _index_flags(request, backend, home)
    ours_of = _as_file_paths(home) if backend == "jetstream" else (lambda value: value)
    async with start_server(home, *flags, transcript=transcript) as process:
        client = RpcClient(process)
        init = await client.initialize()
        expected_init = json.loads((golden / "initialize.json").read_text())
        assert set(expected_init) <= set(init)  # the user agent names the server, so it differs
        for kind in ("thread_read", "thread_read_noturns"):
            for path in sorted((golden / kind).glob("*.json")):
                case = json.loads(path.read_text())
                answer = await client.call("thread/read", case["params"])
                if "error" in case:
                    assert any(m in case["error"]["message"] for m in KNOWN_SERVER_ERRORS)
                    assert "result" in answer  # we read archived threads (documented)
                    continue
                expected = rewrite_home_prefix(case["result"]["thread"], version, home)
                thread = ours_of(answer["result"]["thread"])
                if comparable_thread(thread, expected, home) != expected:
                    mismatches.append(f"{kind}/{path.stem}")
                if "readState" in case["result"]:
                    check_read_state(answer["result"]["readState"], case["result"]["readState"])
        for variant in sorted((golden / "thread_list").iterdir()):
            pages = [json.loads(p.read_text()) for p in sorted(variant.glob("page_*.json"))]
            params: dict[str, Any] = {k: v for k, v in pages[0]["params"].items() if k != "cursor"}
            ours: list[list[dict[str, Any]]] = []
            cursor = None
            for _ in range(100):
                result = await client.result("thread/list", {**params, "cursor": cursor})
                ours.append(ours_of(result["data"]))
                if version in CURRENT_VERSIONS:
                    assert set(result) >= set(pages[0]["result"]), variant.name
                    assert set(result["readStates"]) == {t["id"] for t in result["data"]}
                    assert (result["backwardsCursor"] is None) == (result["data"] == [])
                cursor = result["nextCursor"]
                if cursor is None:
                    break
            compare_walk(version, pages, ours, home)
        for path in sorted((golden / "thread_turns_list").glob("*.json")):
            turn_cursor = None
            for case in json.loads(path.read_text()):
                turn_params = {k: v for k, v in case["params"].items() if k != "cursor"}
                turns = await client.result(
                    "thread/turns/list", {**turn_params, "cursor": turn_cursor}
                )
                if turns != case["result"]:
                    mismatches.append(f"thread_turns_list/{path.stem}")
                turn_cursor = turns["nextCursor"]
        if version in CURRENT_VERSIONS:
            bad = await client.call("thread/turns/list", {"threadId": "../x", "cursor": "{"})
            assert bad["error"]["code"] == -32600 and "invalid thread id" in bad["error"]["message"]
    assert mismatches == []
    if backend == "jetstream":  # the answers did come from the stream
        assert sum(ours_of.rewritten) > 100  # type: ignore[attr-defined]
    # every answer is valid for the clients of that era (a seed-era home: 0.105's schema)
    assert assert_transcript_valid(transcript, "0.105.0" if version == "0.101.0" else version) > 50
