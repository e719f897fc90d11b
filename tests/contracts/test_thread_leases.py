"""Every thread-ownership store passes the lease contract: PostgreSQL and in memory."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from threadlog.store.memory import MemoryLeases
from threadlog.store.pg_index import PostgresIndex
from threadlog.store.ports import ThreadLeases
from threadlog.testing.contracts import ThreadLeasesContract


class TestPostgresLeases(ThreadLeasesContract):
    """Leases in a real PostgreSQL (a schema of its own per store)."""

    dsn: str = ""
    opened: list[PostgresIndex] = []

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _server(cls, postgres_dsn: str) -> object:
        cls.dsn = postgres_dsn
        cls.opened = []
        yield
        for store in cls.opened:
            store.close()

    def make_leases(self, clock_ms: Callable[[], int]) -> ThreadLeases:
        store = PostgresIndex(
            self.dsn, schema=f"o_{uuid.uuid4().hex[:16]}", clock_ms=clock_ms, pool_size=8
        )
        self.opened.append(store)
        return store


class TestMemoryLeases(ThreadLeasesContract):
    def make_leases(self, clock_ms: Callable[[], int]) -> ThreadLeases:
        return MemoryLeases(clock_ms=clock_ms)
