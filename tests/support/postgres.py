"""A throwaway PostgreSQL server for the tests, or the one ``THREADLOG_TEST_POSTGRES`` names.

``initdb`` and ``pg_ctl`` (PostgreSQL 15 is installed on the machines) make a cluster in a
temporary directory, listening on loopback on a free port with trust authentication; when
the tests run as root it runs as the ``postgres`` user (the server refuses root). It is
stopped by its pid when the session ends. Each test takes its own database schema
(``fresh_schema``), so tests never see each other's rows. A missing PostgreSQL is a test
failure, never a skip: CI runs these.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ENV_DSN = "THREADLOG_TEST_POSTGRES"


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL is not installed (no initdb): the cluster tests need it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class Cluster:
    """A throwaway cluster in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        self.bindir = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="threadlog-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = _free_port()
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    @property
    def dsn(self) -> str:
        """Where to connect."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=on"
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                 "-l", str(self.root / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server by its pid (fast shutdown: connections are cut)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return
        try:
            os.kill(pid, 2)  # SIGINT: fast shutdown
            for _ in range(200):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, 9)
        except ProcessLookupError:
            pass

    def remove(self) -> None:
        """Stop it and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A DSN of a running server (given, or started here and removed after)."""
    given = os.environ.get(ENV_DSN)
    if given:
        yield given
        return
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster.dsn
    finally:
        cluster.remove()


def fresh_schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


def index_for_root(dsn: str, root: object, prefix: str, opened: list[Any], clock_ms: Any) -> Any:
    """A ``PostgresIndex`` in the schema of ``root`` (two made on one root share rows, as
    two SQLite indexes on one file do); at most eight stay open (property tests make one
    an example)."""
    from threadlog.store.pg_index import PostgresIndex

    schema = prefix + hashlib.sha256(str(root).encode()).hexdigest()[:20]
    index = PostgresIndex(dsn, schema=schema, clock_ms=clock_ms, pool_size=2)
    opened.append(index)
    while len(opened) > 8:
        opened.pop(0).close()
    return index


class PostgresFixture:
    """Mix into a contract test class: ``dsn`` of the session's server, and ``opened``
    stores closed when the class is done."""

    dsn: str = ""
    opened: list[Any] = []

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _server(cls, postgres_dsn: str) -> Iterator[None]:
        cls.dsn = postgres_dsn
        cls.opened = []
        yield
        for store in cls.opened:
            store.close()
