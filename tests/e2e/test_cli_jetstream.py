"""import / export between a file home and a cluster (JetStream + PostgreSQL), and the
index commands on a JetStream log: real servers, the real CLI, the 0.171 home."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from tests.support.cli import threadlog_on
from tests.support.corpus import copy_codex_home
from tests.support.nats import log_url
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex

# What a row says of its thread, whichever store its log is in.
PLACE_FIELDS = {"rollout_path", "log_position"}


def _rollouts(home: Path) -> dict[str, tuple[str, bytes]]:
    """Every thread's rollout: where under the home, and its bytes."""
    logs = FileLogStore(home)
    out = {}
    for archived in (False, True):
        for ref in logs.logs(archived=archived):
            place = str(Path(ref.location).relative_to(home))
            out[ref.thread_id] = (place, Path(ref.location).read_bytes())
    return out


def _rows_of_home(home: Path) -> dict[str, dict[str, Any]]:
    done = threadlog_on(home, "replay", "--json")
    assert done.returncode == 0, done.stderr
    index = SqliteIndex.for_home(home)
    try:
        return {r.id: _facts(msgspec.to_builtins(r)) for r in index.rows()}
    finally:
        index.close()


def _facts(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in PLACE_FIELDS}


def test_a_round_trip_through_the_cluster_gives_equal_rollouts_and_index(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    home = copy_codex_home("0.171.0", tmp_path / "home")
    log = log_url(nats_server_info)
    schema = f"x_{uuid.uuid4().hex[:12]}"
    index = ["--index", postgres_dsn, "--index-schema", schema]
    done = threadlog_on(home, "import", "--log", log, *index, "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["copied"] == stats["threads"] == 215 and stats["skipped"] == []
    again = threadlog_on(home, "import", "--log", log, "--json")  # nothing twice
    assert json.loads(again.stdout)["already"] == 215, again.stderr
    exported = tmp_path / "exported"
    exported.mkdir()
    out = threadlog_on(exported, "export", "--log", log, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["copied"] == 215

    assert _rollouts(exported) == _rollouts(home)  # same bytes, same places
    original = _rows_of_home(home)
    assert _rows_of_home(exported) == original
    with psycopg.connect(postgres_dsn, options=f"-c search_path={schema}") as conn:
        columns = [c.name for c in conn.execute("SELECT * FROM threads LIMIT 0").description]
        cluster = {
            row[0]: {c: v for c, v in zip(columns, row, strict=True)}
            for row in conn.execute("SELECT * FROM threads").fetchall()
        }
    assert set(cluster) == set(original)
    for tid, facts in original.items():  # the cluster's index says what SQLite says
        assert cluster[tid]["title"] == facts["title"]
        assert cluster[tid]["archived"] == facts["archived"]
        assert cluster[tid]["updated_at_ms"] == facts["updated_at_ms"]  # carried over
        assert cluster[tid]["rollout_path"].startswith("nats://")


def test_the_index_commands_read_a_jetstream_log(
    tmp_path: Path, nats_server_info: tuple[str, str], postgres_dsn: str
) -> None:
    home = copy_codex_home("0.171.0", tmp_path / "home")
    log = log_url(nats_server_info)
    assert threadlog_on(home, "import", "--log", log).returncode == 0
    schema = f"y_{uuid.uuid4().hex[:12]}"
    where = ["--log", log, "--index", postgres_dsn, "--index-schema", schema]
    done = threadlog_on(home, "backfill", *where, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threads"] == 215
    checked = threadlog_on(home, "doctor", *where, "--json")
    assert json.loads(checked.stdout)["clean"], checked.stdout
    replayed = threadlog_on(home, "replay", *where, "--json")
    assert replayed.returncode == 0 and json.loads(replayed.stdout)["threads"] == 215
    # list and read answer from the cluster as from the files (the paths aside)
    every = ["list", "--json", "--all-sources", "--all-providers", "--limit", "50"]
    remote = threadlog_on(home, *every, *where)
    local = threadlog_on(home, *every)
    assert remote.returncode == 0, remote.stderr
    remote_ids = [t["id"] for t in json.loads(remote.stdout)["data"]]
    assert remote_ids == [t["id"] for t in json.loads(local.stdout)["data"]]
    assert len(remote_ids) == 50
    tid = remote_ids[0]
    theirs = json.loads(threadlog_on(home, "read", tid, "--turns", "--json", "--log", log).stdout)
    ours = json.loads(threadlog_on(home, "read", tid, "--turns", "--json").stdout)
    assert theirs["thread"]["path"].startswith("nats://")
    theirs["thread"]["path"] = ours["thread"]["path"]
    assert theirs == ours


def test_a_bad_or_unreachable_log_is_a_clear_error(tmp_path: Path) -> None:
    home = copy_codex_home("0.171.0", tmp_path / "home")
    bad = threadlog_on(home, "backfill", "--log", "nats://127.0.0.1:1?stream=a.b")
    assert bad.returncode == 2 and "stream name" in bad.stderr
    gone = threadlog_on(home, "serve", "--log", "nats://127.0.0.1:1?stream=x")
    assert gone.returncode == 1 and "cannot reach NATS at nats://127.0.0.1:1" in gone.stderr
