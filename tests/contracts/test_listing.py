"""Both listing paths (index and logs) agree: files + SQLite, files + PostgreSQL, memory."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.support.postgres import PostgresFixture, index_for_root
from threadlog.store.files import FileLogStore
from threadlog.store.memory import MemoryIndex, MemoryLogStore
from threadlog.store.ports import IndexStore, LogRef, LogStore
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.testing.contracts import ListingContract


class TestFilesAndSqlite(ListingContract):
    def make_stores(self, root: Path, clock_ms: Callable[[], int]) -> tuple[LogStore, IndexStore]:
        return FileLogStore(root), SqliteIndex.for_home(root, clock_ms=clock_ms)

    def settle(self, logs: LogStore, ref: LogRef, modified: datetime) -> None:
        stamp = modified.timestamp()
        os.utime(ref.location, (stamp, stamp))


class TestFilesAndPostgres(PostgresFixture, ListingContract):
    """The index on a real PostgreSQL server (a schema of its own per root)."""

    def make_stores(self, root: Path, clock_ms: Callable[[], int]) -> tuple[LogStore, IndexStore]:
        return FileLogStore(root), index_for_root(self.dsn, root, "l_", self.opened, clock_ms)

    def settle(self, logs: LogStore, ref: LogRef, modified: datetime) -> None:
        stamp = modified.timestamp()
        os.utime(ref.location, (stamp, stamp))


class TestMemory(ListingContract):
    def make_stores(self, root: Path, clock_ms: Callable[[], int]) -> tuple[LogStore, IndexStore]:
        self.logs = MemoryLogStore(clock_ms=clock_ms)
        return self.logs, MemoryIndex(clock_ms=clock_ms)

    def settle(self, logs: LogStore, ref: LogRef, modified: datetime) -> None:
        assert isinstance(logs, MemoryLogStore)
        logs.touch(ref, int(modified.timestamp() * 1000))
