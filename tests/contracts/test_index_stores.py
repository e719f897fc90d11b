"""Every index store passes the index contract: SQLite, PostgreSQL and the in-memory index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.postgres import index_for_root
from threadlog.store.memory import MemoryIndex
from threadlog.store.pg_index import PostgresIndex
from threadlog.store.ports import IndexStore
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.testing.contracts import IndexStoreContract


class TestSqliteIndex(IndexStoreContract):
    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return SqliteIndex.for_home(root, clock_ms=clock_ms)


class TestMemoryIndex(IndexStoreContract):
    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return MemoryIndex(clock_ms=clock_ms)


class TestPostgresIndex(IndexStoreContract):
    """A real PostgreSQL server (started for the session); a schema of its own per index."""

    dsn: str = ""
    opened: list[PostgresIndex] = []

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _server(cls, postgres_dsn: str) -> object:
        cls.dsn = postgres_dsn
        cls.opened = []
        yield
        for index in cls.opened:
            index.close()

    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return index_for_root(self.dsn, root, "t_", self.opened, clock_ms)
