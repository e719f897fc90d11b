"""The index port on PostgreSQL: ``PostgresIndex`` (psycopg 3, a connection pool).

The same rows, listings, cursors, turn spans and backfill lease as ``SqliteIndex``, held
to the same contract suite, for a deployment where many hosts share one index. Calls are
blocking (the runtime makes them from trio worker threads, as for SQLite); each takes a
pooled connection for one transaction. Everything lives in one schema of the database
(``schema``, default ``threadlog``), created on first use; migrations are forward-only and
versioned in ``threadlog_schema``. Every value, the search term included, is a bound
parameter; the schema name is checked to be a plain identifier before it is spliced.
A batch of rows is upserted with one statement (``unnest`` of column arrays).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import msgspec
import psycopg
from psycopg_pool import ConnectionPool

from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    IndexEntry,
    ThreadPage,
    ThreadQuery,
    ThreadRow,
    TurnIndexState,
    TurnSpan,
)
from threadlog.store.clock import wall_clock_ms
from threadlog.store.lease import BACKFILL_LEASE_SECONDS, lease_holder
from threadlog.store.pg_leases import PostgresLeases
from threadlog.store.pg_schema import MIGRATIONS, UPSERT
from threadlog.store.ports import BackfillState
from threadlog.store.row_reads import read_dynamic_tools, read_row, row_from_sql
from threadlog.store.row_sql import SELECT_COLUMNS, row_values
from threadlog.store.thread_listing import keyset_page, listing_filters, page_sql
from threadlog.store.turn_reads import read_turn_page, read_turn_spans, read_turn_state

_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LIVE_WINDOW_MS: Final = 1000


class PostgresIndex:
    """``IndexStore`` over one schema of a PostgreSQL database."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "threadlog",
        clock_ms: Callable[[], int] = wall_clock_ms,
        pool_size: int = 8,
        connect_timeout: float = 10.0,
        wait_timeout: float = 5.0,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"not a plain schema name: {schema!r}")
        self.schema = schema
        self.clock_ms = clock_ms
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            # autocommit: a read is one statement with no BEGIN/COMMIT round trips; writes
            # open their transaction explicitly (``tx``)
            kwargs={"options": f"-c search_path={schema}", "autocommit": True},
            # a call fails after this long without a connection (the server gone), rather
            # than holding its caller: the runtime retries what it could not write
            timeout=wait_timeout,
            open=False,
        )
        try:  # a server that is not there is an error now, not a hang at the first query
            self._pool.open(wait=True, timeout=connect_timeout)
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor inside one transaction on a pooled connection."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _migrate(self) -> None:
        with self.tx() as cur:
            # one migrator at a time, across hosts (a transaction-scoped advisory lock)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            cur.execute("CREATE TABLE IF NOT EXISTS threadlog_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM threadlog_schema")
            found = cur.fetchone()
            version = int(found[0]) if found else 0
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"schema {self.schema} is at version {version}, newer than this threadlog"
                )
            for migration in MIGRATIONS[version:]:
                cur.execute(migration)
            if found is None:
                cur.execute("INSERT INTO threadlog_schema VALUES (%s)", (len(MIGRATIONS),))
            else:
                cur.execute("UPDATE threadlog_schema SET version = %s", (len(MIGRATIONS),))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """One read statement's rows (autocommit: its own snapshot, no transaction round
        trips)."""
        with self._pool.connection() as conn:
            return conn.execute(sql, args).fetchall()

    # --- rows -----------------------------------------------------------------------------

    def upsert(self, records: Sequence[IndexEntry], *, keep_git: bool = True) -> None:
        """Insert or replace rows (one statement) and record dynamic tools, atomically."""
        with self.tx() as cur:
            self._upsert(cur, records, keep_git=keep_git)

    def _upsert(
        self, cur: psycopg.Cursor[Any], records: Sequence[IndexEntry], *, keep_git: bool
    ) -> None:
        if not records:
            return
        rows = {parse_thread_id(r.row.id): r for r in records}  # the last of an id wins
        ids = list(rows)
        git: dict[str, tuple[Any, Any, Any]] = {}
        if keep_git:
            cur.execute(
                "SELECT id, git_sha, git_branch, git_origin_url FROM threads "
                "WHERE id = ANY(%s) FOR UPDATE",
                (ids,),
            )
            git = {r[0]: r[1:] for r in cur.fetchall() if any(r[1:])}
        cur.execute("SELECT high FROM thread_stamp WHERE id = 1 FOR UPDATE")
        high = cur.fetchone()
        highest = int(high[0]) if high else 0
        now = self.clock_ms()
        stored: list[ThreadRow] = []
        for tid, record in rows.items():
            row = msgspec.structs.replace(record.row, id=tid)
            if tid in git:
                sha, branch, origin = git[tid]
                row = msgspec.structs.replace(
                    row, git_sha=sha, git_branch=branch, git_origin_url=origin
                )
            if row.updated_at_ms >= now - _LIVE_WINDOW_MS:  # a live write: after all others
                row = msgspec.structs.replace(
                    row, updated_at_ms=max(row.updated_at_ms, highest + 1)
                )
            highest = max(highest, row.updated_at_ms)
            stored.append(row)
        columns = list(zip(*(row_values(r) for r in stored), strict=True))
        cur.execute(UPSERT, [list(c) for c in columns])
        cur.execute("UPDATE thread_stamp SET high = %s WHERE id = 1", (highest,))
        for row in stored:
            record = rows[row.id]
            for position, tool in enumerate(record.dynamic_tools):
                cur.execute(
                    "INSERT INTO thread_dynamic_tools (thread_id, position, name, description, "
                    "input_schema, defer_loading) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (thread_id, position) DO NOTHING",
                    (
                        row.id,
                        position,
                        tool.name,
                        tool.description,
                        msgspec.json.encode(tool.input_schema).decode(),
                        tool.defer_loading,
                    ),
                )
            if record.turns is not None:
                self._write_turns(cur, row.id, record)

    @staticmethod
    def _write_turns(cur: psycopg.Cursor[Any], thread_id: str, record: IndexEntry) -> None:
        assert record.turns is not None
        start = record.turns_from
        cur.execute(
            "SELECT turn_count, unordered FROM thread_turns_state WHERE thread_id = %s",
            (thread_id,),
        )
        state = cur.fetchone()
        count, unordered = (int(state[0]), int(state[1])) if state else (0, 0)
        if start > count:
            raise ValueError(f"turn spans from {start} would leave a gap after {count}")
        cur.execute(
            "SELECT count(*) FROM thread_turns WHERE thread_id = %s AND position >= %s "
            "AND ordinal IS NULL",
            (thread_id, start),
        )
        dropped = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(
            "DELETE FROM thread_turns WHERE thread_id = %s AND position >= %s", (thread_id, start)
        )
        if record.turns:
            cur.executemany(
                "INSERT INTO thread_turns (thread_id, position, turn_id, log_location, "
                "start_offset, end_offset, ordinal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (thread_id, n, t.turn_id, t.log_location, t.start_offset, t.end_offset,
                     t.ordinal)
                    for n, t in enumerate(record.turns, start)
                ],
            )  # fmt: skip
        added = sum(1 for t in record.turns if t.ordinal is None)
        position = record.row.log_position
        cur.execute(
            "INSERT INTO thread_turns_state (thread_id, turn_count, unordered, log_offset, "
            "log_identity) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (thread_id) DO UPDATE SET "
            "turn_count = EXCLUDED.turn_count, unordered = EXCLUDED.unordered, "
            "log_offset = EXCLUDED.log_offset, log_identity = EXCLUDED.log_identity",
            (
                thread_id,
                start + len(record.turns),
                unordered - dropped + added,
                position.offset,
                position.identity,
            ),
        )

    def get(self, thread_id: str) -> ThreadRow | None:
        """One thread's row."""
        return read_row(self.query, thread_id, "%s")

    def dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools in declaration order (None when it declared none)."""
        return read_dynamic_tools(self.query, thread_id, "%s")

    def delete(self, thread_id: str) -> bool:
        """Remove a thread's row, tools and spans; False when there was none."""
        tid = parse_thread_id(thread_id)
        with self.tx() as cur:
            cur.execute("DELETE FROM threads WHERE id = %s", (tid,))
            return cur.rowcount > 0

    def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set or clear a thread's name; False when there is no such row."""
        tid = parse_thread_id(thread_id)
        with self.tx() as cur:
            cur.execute("UPDATE threads SET name = %s WHERE id = %s", (name, tid))
            return cur.rowcount > 0

    def rows(self) -> list[ThreadRow]:
        """Every row."""
        return [row_from_sql(r) for r in self.query(f"SELECT {SELECT_COLUMNS} FROM threads")]

    # --- listing --------------------------------------------------------------------------

    def page(self, query: ThreadQuery) -> ThreadPage:
        """One keyset page (a seek in the listing index of the sort key, then the page)."""
        return keyset_page(query, lambda: self.query(*build_pg_list_sql(query)))

    # --- turns ----------------------------------------------------------------------------

    def turn_state(self, thread_id: str) -> TurnIndexState | None:
        """What is known of a thread's turns; None when none were ever upserted (I7)."""
        return read_turn_state(self.query, thread_id, "%s")

    def turn_spans(self, thread_id: str) -> list[TurnSpan]:
        """All of a thread's turn spans in order (I7)."""
        return read_turn_spans(self.query, thread_id, "%s")

    def turn_page(
        self,
        thread_id: str,
        *,
        anchor: int | None,
        include_anchor: bool,
        limit: int,
        newest_first: bool,
    ) -> list[TurnSpan]:
        """Up to ``limit`` spans by ordinal, after ``anchor`` in the order asked (I7)."""
        return read_turn_page(
            self.query,
            thread_id,
            anchor=anchor,
            include_anchor=include_anchor,
            limit=limit,
            newest_first=newest_first,
            param="%s",
        )

    # --- the backfill lease ---------------------------------------------------------------

    def _now(self) -> int:
        return self.clock_ms() // 1000

    def _ensure_lease_row(self, cur: psycopg.Cursor[Any]) -> None:
        cur.execute(
            "INSERT INTO backfill_state (id, status, updated_at) VALUES (1, 'pending', %s) "
            "ON CONFLICT (id) DO NOTHING",
            (self._now(),),
        )

    def commit_batch(self, records: Sequence[IndexEntry], watermark: str) -> None:
        """Upsert a backfill batch and checkpoint its watermark in one transaction (I2)."""
        with self.tx() as cur:
            self._upsert(cur, records, keep_git=True)
            self._ensure_lease_row(cur)
            cur.execute(
                "UPDATE backfill_state SET status = 'running', last_watermark = %s, "
                "updated_at = %s WHERE id = 1",
                (watermark, self._now()),
            )

    def backfill_state(self) -> BackfillState:
        """The lease and its checkpoint."""
        with self.tx() as cur:
            self._ensure_lease_row(cur)
            cur.execute(
                "SELECT status, last_watermark, last_success_at, updated_at "
                "FROM backfill_state WHERE id = 1"
            )
            status, watermark, success, updated = cur.fetchone()  # type: ignore[misc]
        return BackfillState(status, watermark, success, updated)

    def claim_backfill(self, lease_seconds: int = BACKFILL_LEASE_SECONDS) -> bool:
        """One atomic ``UPDATE ... RETURNING``: exactly one claimant wins a free lease.

        A running lease is taken over only once it has expired: its holder may be on
        another host sharing this database, so whether it still runs cannot be judged here.
        """
        now = self._now()
        with self.tx() as cur:
            self._ensure_lease_row(cur)
            cur.execute(
                "UPDATE backfill_state SET status = 'running', updated_at = %s, holder = %s "
                "WHERE id = 1 AND status <> 'complete' "
                "AND (status <> 'running' OR updated_at <= %s) RETURNING id",
                (now, lease_holder(), now - lease_seconds),
            )
            return cur.fetchone() is not None

    def complete_backfill(self, watermark: str | None = None) -> None:
        """The backfill finished: complete is final until a reset."""
        now = self._now()
        with self.tx() as cur:
            self._ensure_lease_row(cur)
            cur.execute(
                "UPDATE backfill_state SET status = 'complete', "
                "last_watermark = COALESCE(%s, last_watermark), last_success_at = %s, "
                "updated_at = %s WHERE id = 1",
                (watermark, now, now),
            )

    def reset_backfill(self) -> None:
        """Back to pending with no watermark (a full replay starts over)."""
        with self.tx() as cur:
            self._ensure_lease_row(cur)
            cur.execute(
                "UPDATE backfill_state SET status = 'pending', last_watermark = NULL, "
                "updated_at = %s WHERE id = 1",
                (self._now(),),
            )

    def release_backfill(self) -> None:
        """Give the lease back unfinished (the next worker resumes from the watermark)."""
        with self.tx() as cur:
            cur.execute(
                "UPDATE backfill_state SET status = 'pending', updated_at = %s "
                "WHERE id = 1 AND status = 'running'",
                (self._now(),),
            )

    @property
    def leases(self) -> PostgresLeases:
        """Thread ownership (``ThreadLeases``) in this index's database."""
        return PostgresLeases(self)

    def replace_with(self, scratch: PostgresIndex) -> None:
        """Make ``scratch``'s contents this index's, in one transaction (a replay's swap:
        readers see the old rows or the new ones, never a mix); ``scratch`` is consumed."""
        if scratch.schema == self.schema:
            raise ValueError("an index cannot replace itself")
        scratch.close()
        with self.tx() as cur:
            cur.execute(f"DROP SCHEMA {self.schema} CASCADE")
            cur.execute(f"ALTER SCHEMA {scratch.schema} RENAME TO {self.schema}")
        self._pool.close()  # pooled connections may cache plans of the old tables
        self._pool = ConnectionPool(
            self._pool.conninfo,
            min_size=1,
            max_size=self._pool.max_size,
            kwargs={"options": f"-c search_path={self.schema}", "autocommit": True},
            open=True,
        )

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()

    def __enter__(self) -> PostgresIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_pg_list_sql(query: ThreadQuery) -> tuple[str, list[Any]]:
    """A listing page's SQL for PostgreSQL (exposed so tests can EXPLAIN it)."""
    column, where, args = listing_filters(query, "%s")
    if query.search:
        where.append("(strpos(title, %s) > 0 OR strpos(coalesce(name, ''), %s) > 0)")
        args += [query.search, query.search]
    return page_sql(query, column, where, args, param="%s")
