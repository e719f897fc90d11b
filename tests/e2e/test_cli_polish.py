"""The command line as a careful user meets it: defaults Codex has, messages that say what
happened, help that helps (real subprocesses on homes made by our own writer)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.corpus import copy_codex_home
from threadlog.events import RolloutLine, encode_line
from threadlog.events.event_msgs import TaskComplete, TaskStarted, UserMessage
from threadlog.events.ids import Uuid7Generator
from threadlog.events.tool_events import Duration, ExecCommandEnd
from threadlog.store.files import FileLogStore
from threadlog.testing.homes import thread_lines, write_thread

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def threadlog(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadlog", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def make_home(root: Path, spec: list[tuple[str, str, str]]) -> tuple[Path, list[str]]:
    """A home of threads (text, source, provider), one second apart."""
    home = root / "home"
    logs = FileLogStore(home)
    gen = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)
    ids = []
    for n, (text, source, provider) in enumerate(spec):
        tid = gen()
        created = CREATED + timedelta(seconds=n)
        write_thread(
            logs,
            tid,
            created,
            thread_lines(tid, created, text, source=source, model_provider=provider),
        )
        ids.append(tid)
    return home, ids


def listed(home: Path, *args: str) -> list[str]:
    proc = threadlog("list", "--home", str(home), "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return [t["id"] for t in json.loads(proc.stdout)["data"]]


def test_the_default_provider_is_the_configured_one(tmp_path: Path) -> None:
    home, ids = make_home(
        tmp_path, [("a", "cli", "openai"), ("b", "cli", "local"), ("c", "cli", "local")]
    )
    assert listed(home) == [ids[0]]  # no config.toml: openai
    (home / "config.toml").write_text('model_provider = "local"\n')
    assert listed(home) == [ids[2], ids[1]]
    assert listed(home, "--provider", "openai") == [ids[0]]
    assert listed(home, "--all-providers") == [ids[2], ids[1], ids[0]]
    table = threadlog("list", "--home", str(home))
    assert "1 threads of other providers than local hidden; --all-providers" in table.stdout
    (home / "config.toml").write_text("model_provider = [")
    broken = threadlog("list", "--home", str(home))
    assert broken.returncode == 2 and "config.toml" in broken.stderr


async def test_serve_lists_the_configured_provider_by_default(tmp_path: Path) -> None:
    from tests.support.rpc_client import RpcClient, start_server

    home, ids = make_home(tmp_path, [("a", "vscode", "openai"), ("b", "vscode", "local")])
    (home / "config.toml").write_text('model_provider = "local"\n')
    async with start_server(home) as process:
        client = RpcClient(process)
        await client.initialize()
        default = await client.result("thread/list", {})
        assert [t["id"] for t in default["data"]] == [ids[1]]
        every = await client.result("thread/list", {"modelProviders": []})
        assert {t["id"] for t in every["data"]} == set(ids)


def test_list_says_what_the_source_filter_hides_and_shows_it_on_request(tmp_path: Path) -> None:
    home, ids = make_home(
        tmp_path, [("a", "cli", "openai"), ("b", "exec", "openai"), ("c", "exec", "openai")]
    )
    table = threadlog("list", "--home", str(home))
    assert table.returncode == 0
    assert "2 threads hidden by source (2 exec); --all-sources to show" in table.stdout
    assert listed(home, "--all-sources") == [ids[2], ids[1], ids[0]]
    shown = threadlog("list", "--home", str(home), "--all-sources")
    assert "hidden" not in shown.stdout


@pytest.mark.parametrize("limit", ["0", "101", "-3", "ten"])
def test_a_limit_outside_1_to_100_is_a_usage_error(tmp_path: Path, limit: str) -> None:
    home, _ = make_home(tmp_path, [("a", "cli", "openai")])
    proc = threadlog("list", "--home", str(home), "--limit", limit)
    assert proc.returncode == 2 and "--limit" in proc.stderr


def test_the_table_shows_the_time_it_is_sorted_by(tmp_path: Path) -> None:
    home, _ = make_home(tmp_path, [("a", "cli", "openai")])
    logs = FileLogStore(home)
    [ref] = list(logs.logs(archived=False))
    logs.archive(ref)
    by_created = threadlog("list", "--home", str(home), "--archived")
    assert by_created.stdout.split()[0] == "created"
    by_updated = threadlog("list", "--home", str(home), "--archived", "--sort-key", "updated_at")
    assert by_updated.stdout.split()[0] == "updated"


def test_search_matches_names_as_the_table_shows_them(tmp_path: Path) -> None:
    home, ids = make_home(
        tmp_path, [("first task", "cli", "openai"), ("second task", "cli", "openai")]
    )
    assert threadlog("rename", ids[0], "Release checklist", "--home", str(home)).returncode == 0
    assert listed(home, "--search", "checklist") == [ids[0]]
    assert listed(home, "--search", "second") == [ids[1]]
    assert threadlog("backfill", "--home", str(home)).returncode == 0  # the index answers now
    assert listed(home, "--search", "checklist") == [ids[0]]


def test_a_page_that_ends_at_the_last_thread_has_no_cursor(tmp_path: Path) -> None:
    home, _ = make_home(tmp_path, [(f"t{n}", "cli", "openai") for n in range(4)])
    for index in (False, True):
        if index:
            assert threadlog("backfill", "--home", str(home)).returncode == 0
        first = json.loads(threadlog("list", "--home", str(home), "--json", "--limit", "2").stdout)
        second = json.loads(
            threadlog(
                "list",
                "--home",
                str(home),
                "--json",
                "--limit",
                "2",
                "--cursor",
                first["nextCursor"],
            ).stdout
        )
        assert len(second["data"]) == 2 and second["nextCursor"] is None


def test_commands_show_as_codex_quotes_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tid = Uuid7Generator(clock_ms=lambda: 1_772_366_400_000)()
    stamp = "2026-03-01T12:00:00.000Z"
    lines = thread_lines(tid, CREATED, "run it")[:1] + [
        encode_line(RolloutLine(stamp, item))
        for item in (
            TaskStarted(turn_id="t1"),
            UserMessage(message="run it"),
            ExecCommandEnd(
                call_id="c1",
                turn_id="t1",
                command=["bash", "-lc", "echo 'it''s' && printf \"a b\""],
                cwd="/w",
                exit_code=0,
                duration=Duration(0, 0),
            ),
            TaskComplete(turn_id="t1"),
        )
    ]
    write_thread(FileLogStore(home), tid, CREATED, lines)
    thread = json.loads(threadlog("read", tid, "--turns", "--json", "--home", str(home)).stdout)
    [command] = [
        i for i in thread["thread"]["turns"][0]["items"] if i["type"] == "commandExecution"
    ]
    # a word holding a single quote goes in double quotes, its " escaped (as Codex's shlex)
    assert command["command"] == "bash -lc \"echo 'it''s' && printf \\\"a b\\\"\""


def test_read_reports_corrupt_lines_and_an_empty_file_is_not_a_thread(tmp_path: Path) -> None:
    home, [tid] = make_home(tmp_path, [("hello", "cli", "openai")])
    [path] = list((home / "sessions").rglob("*.jsonl"))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([lines[0], b"{not json\n", *lines[1:]]))
    proc = threadlog("read", tid, "--home", str(home), "--json")
    assert proc.returncode == 0
    assert f"skipped 1 corrupt line(s); first at {path}:2" in proc.stderr
    assert json.loads(proc.stdout)["thread"]["preview"] == "hello #0"
    empty_id = Uuid7Generator(clock_ms=lambda: 1_772_366_500_000)()
    empty = path.with_name(f"rollout-2026-03-01T12-01-40-{empty_id}.jsonl")
    empty.write_bytes(b"")
    binary = threadlog("read", empty_id, "--home", str(home))
    assert binary.returncode == 1 and "not a thread" in binary.stderr
    empty.write_bytes(b"\x00\xff\x00garbage\n")
    assert "not a thread" in threadlog("read", empty_id, "--home", str(home)).stderr
    for args in ([], ["--all-sources", "--all-providers"]):
        assert empty_id not in listed(home, *args)
    assert threadlog("backfill", "--home", str(home)).returncode == 0
    assert empty_id not in listed(home, "--all-sources", "--all-providers")


def test_doctor_repair_converges_in_one_run_and_says_what_is_left(tmp_path: Path) -> None:
    home, _ = make_home(tmp_path, [(f"t{n}", "cli", "openai") for n in range(4)])
    assert threadlog("backfill", "--home", str(home)).returncode == 0
    paths = sorted((home / "sessions").rglob("*.jsonl"))
    paths[0].unlink()  # a row whose log is gone
    with paths[1].open("ab") as stream:  # a torn tail
        stream.write(b'{"timestamp":"2026-03-01T12:00:09.000Z","type":"ev')
    data = paths[2].read_bytes().splitlines(keepends=True)  # a corrupt line inside
    paths[2].write_bytes(b"".join([data[0], b"\x00garbage\n", *data[1:]]))
    extra = make_home(tmp_path / "more", [("new one", "cli", "openai")])[0]
    [new] = list((extra / "sessions").rglob("*.jsonl"))
    moved = paths[3].parent / new.name
    new.rename(moved)  # a log with no row
    first = threadlog("doctor", "--repair", "--home", str(home))
    assert "repaired:" in first.stdout
    # the garbage line, and the torn fragment, which healing ends with a newline (kept)
    assert "left: 2 unreadable line(s)" in first.stdout and "threadlog read" in first.stdout
    second = threadlog("doctor", "--repair", "--home", str(home))
    assert "repaired:" not in second.stdout  # nothing left that a repair can do
    assert "left: 2 unreadable line(s)" in second.stdout
    assert first.returncode == second.returncode == 1


def test_every_subcommand_has_help_with_examples_and_no_markup() -> None:
    from threadlog.actors.cli.main import COMMANDS, build_parser

    parser = build_parser()
    names = [a for a in parser._subparsers._group_actions[0].choices]  # type: ignore[union-attr]
    assert len(names) >= len(COMMANDS)
    for name in names:
        proc = threadlog(name, "--help")
        assert proc.returncode == 0, name
        assert "``" not in proc.stdout, name
        assert "examples:" in proc.stdout, name
    demo = threadlog("demo", "--help").stdout
    assert "threadlog-demo-home" in " ".join(demo.split())


def test_shell_completion_scripts_for_bash_and_zsh() -> None:
    for shell in ("bash", "zsh"):
        proc = threadlog("completion", shell)
        assert proc.returncode == 0 and "threadlog" in proc.stdout and "_ARGCOMPLETE" in proc.stdout
    bad = threadlog("completion", "fish-and-chips")
    assert bad.returncode == 2


def test_completion_proposes_subcommands(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": "threadlog li", "COMP_POINT": "12"}
    out = tmp_path / "out"
    env["_ARGCOMPLETE_STDOUT_FILENAME"] = str(out)
    subprocess.run(
        [sys.executable, "-m", "threadlog"], env=env, capture_output=True, timeout=60, check=False
    )
    assert "list" in out.read_text().split()


def test_corpus_home_lists_the_same_through_the_cli(tmp_path: Path) -> None:
    home = copy_codex_home("0.105.0", tmp_path / "home")
    ids = listed(home, "--all-sources", "--limit", "5")
    assert len(ids) == 5


def test_a_message_that_only_begins_like_context_is_listed_and_searchable(tmp_path: Path) -> None:
    typed = "<environment_context> is what I want to ask about"
    home, [tid] = make_home(tmp_path, [(typed, "cli", "openai")])
    shown = json.loads(threadlog("list", "--home", str(home), "--json").stdout)["data"]
    assert [t["id"] for t in shown] == [tid] and shown[0]["preview"] == f"{typed} #0"
    assert listed(home, "--search", "want to ask") == [tid]
