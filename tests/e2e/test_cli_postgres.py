"""backfill, doctor and replay with the index on PostgreSQL (a real server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from tests.support.corpus import copy_codex_home

REPO = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
    )


def _rows(dsn: str, schema: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
        return conn.execute("SELECT id, title FROM threads ORDER BY id").fetchall()


def test_the_index_commands_work_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    home = copy_codex_home("0.171.0", tmp_path / "home")
    schema = f"c_{uuid.uuid4().hex[:12]}"
    where = ["--index", postgres_dsn, "--index-schema", schema]
    done = _cli(home, "backfill", *where, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threads"] == 215
    before = _rows(postgres_dsn, schema)
    assert len(before) == 215
    assert _cli(home, "doctor", *where).returncode == 0  # clean
    again = _cli(home, "replay", *where, "--json")
    assert again.returncode == 0, again.stderr
    assert _rows(postgres_dsn, schema) == before  # rebuilt and swapped in
    with psycopg.connect(postgres_dsn) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    assert schema in schemas and f"{schema}_replay" not in schemas
    assert not (home / "threadlog.sqlite").exists()


def test_a_bad_index_url_or_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    bad = _cli(home, "backfill", "--index", "mysql://x")
    assert bad.returncode == 2 and "postgresql://" in bad.stderr
    schema = _cli(
        home, "doctor", "--index", "postgresql://x@127.0.0.1:1/db", "--index-schema", "Bad;"
    )
    assert schema.returncode == 2 and "schema name" in schema.stderr
    down = _cli(home, "backfill", "--index", "postgresql://x@127.0.0.1:1/db?connect_timeout=2")
    assert down.returncode == 1 and "cannot open the index" in down.stderr
