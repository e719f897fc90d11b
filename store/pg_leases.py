"""Thread ownership (``ThreadLeases``, O1-O5) in the PostgreSQL index's database.

One row per thread in ``thread_leases`` (owner, epoch, expiry); a claim is one statement
(``INSERT ... ON CONFLICT ... WHERE ... RETURNING``), so of racing hosts exactly one wins,
and a released or expired lease keeps its row, so the next epoch is always higher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import psycopg

from threadlog.events.ids import parse_thread_id
from threadlog.store.ports import ThreadLease, ThreadOwnedError


class Database(Protocol):
    """What the leases need of ``PostgresIndex``: its transactions, reads and clock."""

    clock_ms: Callable[[], int]

    def tx(self) -> AbstractContextManager[psycopg.Cursor[Any]]:
        """A cursor inside one transaction."""
        ...

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """One read statement's rows."""
        ...


class PostgresLeases:
    """``ThreadLeases`` over a ``PostgresIndex``'s pool and schema."""

    def __init__(self, index: Database) -> None:
        self.index = index

    def claim(self, thread_id: str, host: str, ttl_ms: int) -> ThreadLease:
        """Own a thread (one statement decides: O1, O2, O5)."""
        tid = parse_thread_id(thread_id)
        now = self.index.clock_ms()
        with self.index.tx() as cur:
            cur.execute(
                "INSERT INTO thread_leases AS l (thread_id, owner, epoch, expires_at_ms) "
                "VALUES (%(tid)s, %(host)s, 1, %(until)s) ON CONFLICT (thread_id) DO UPDATE SET "
                "epoch = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at_ms > %(now)s "
                "THEN l.epoch ELSE l.epoch + 1 END, "
                "owner = EXCLUDED.owner, expires_at_ms = EXCLUDED.expires_at_ms "
                "WHERE l.owner = EXCLUDED.owner OR l.expires_at_ms <= %(now)s "
                "RETURNING epoch",
                {"tid": tid, "host": host, "until": now + ttl_ms, "now": now},
            )
            won = cur.fetchone()
            if won is not None:
                return ThreadLease(tid, host, int(won[0]), now + ttl_ms)
            cur.execute(
                "SELECT owner, expires_at_ms FROM thread_leases WHERE thread_id = %s", (tid,)
            )
            owner, until = cur.fetchone()  # type: ignore[misc]
        raise ThreadOwnedError(tid, owner, int(until))

    def renew(self, host: str, ttl_ms: int) -> int:
        """Extend every unexpired lease of ``host`` in one statement (O3)."""
        now = self.index.clock_ms()
        with self.index.tx() as cur:
            cur.execute(
                "UPDATE thread_leases SET expires_at_ms = %s "
                "WHERE owner = %s AND expires_at_ms > %s",
                (now + ttl_ms, host, now),
            )
            return cur.rowcount

    def release(self, thread_id: str, host: str) -> bool:
        """Give a thread up, if ``host`` owns it (O4); the row and its epoch stay."""
        tid = parse_thread_id(thread_id)
        with self.index.tx() as cur:
            cur.execute(
                "UPDATE thread_leases SET expires_at_ms = 0 "
                "WHERE thread_id = %s AND owner = %s AND expires_at_ms > %s",
                (tid, host, self.index.clock_ms()),
            )
            return cur.rowcount > 0

    def owner(self, thread_id: str) -> ThreadLease | None:
        """The thread's lease as it stands."""
        tid = parse_thread_id(thread_id)
        rows = self.index.query(
            "SELECT owner, epoch, expires_at_ms FROM thread_leases WHERE thread_id = %s", (tid,)
        )
        return ThreadLease(tid, rows[0][0], int(rows[0][1]), int(rows[0][2])) if rows else None
