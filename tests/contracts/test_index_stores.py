"""Every index store passes the index contract: SQLite, PostgreSQL and the in-memory index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.postgres import PostgresFixture, index_for_root
from threadlog.store.memory import MemoryIndex
from threadlog.store.ports import IndexStore
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.testing.contracts import IndexStoreContract


class TestSqliteIndex(IndexStoreContract):
    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return SqliteIndex.for_home(root, clock_ms=clock_ms)


class TestMemoryIndex(IndexStoreContract):
    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return MemoryIndex(clock_ms=clock_ms)


class TestPostgresIndex(PostgresFixture, IndexStoreContract):
    """A real PostgreSQL server (started for the session); a schema of its own per index."""

    def make_index(self, root: Path, clock_ms: Callable[[], int]) -> IndexStore:
        return index_for_root(self.dsn, root, "t_", self.opened, clock_ms)
