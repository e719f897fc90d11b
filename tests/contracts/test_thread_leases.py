"""Every thread-ownership store passes the lease contract: PostgreSQL and in memory."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.support.postgres import PostgresFixture
from threadlog.store.memory import MemoryLeases
from threadlog.store.pg_index import PostgresIndex
from threadlog.store.ports import ThreadLeases
from threadlog.testing.contracts import ThreadLeasesContract


class TestPostgresLeases(PostgresFixture, ThreadLeasesContract):
    """Leases in a real PostgreSQL (a schema of its own per store)."""

    def make_leases(self, clock_ms: Callable[[], int]) -> ThreadLeases:
        store = PostgresIndex(
            self.dsn, schema=f"o_{uuid.uuid4().hex[:16]}", clock_ms=clock_ms, pool_size=8
        )
        self.opened.append(store)
        return store.leases


class TestMemoryLeases(ThreadLeasesContract):
    def make_leases(self, clock_ms: Callable[[], int]) -> ThreadLeases:
        return MemoryLeases(clock_ms=clock_ms)
