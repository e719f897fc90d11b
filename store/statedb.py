"""The state DB: our own SQLite index of threads (``threadlog.sqlite``), through apsw.

It is a cache of the logs: deletable, rebuildable by ``threadlog replay``. While it exists it
must be correct and safe when several processes open it: WAL journaling, a busy timeout,
foreign keys on, and every write in an explicit ``BEGIN IMMEDIATE`` transaction so
concurrent writers serialise instead of failing half-way. We never open Codex's own
``state_*.sqlite``.

Every value from outside is a bound parameter. Thread ids are validated before any SQL.
The clock is injectable (``clock_ms``) so tests can pin time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import apsw
import msgspec

from threadlog.events.ids import parse_thread_id
from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import IndexEntry, ThreadRow, TurnIndexState, TurnSpan
from threadlog.store.bulk_insert import absent_ids, insert_absent
from threadlog.store.clock import wall_clock_ms
from threadlog.store.layout import STATE_DB_FILE, make_private_dirs
from threadlog.store.lazylog import get_logger
from threadlog.store.row_reads import read_dynamic_tools, read_row, row_from_sql
from threadlog.store.row_sql import (
    INSERT_THREAD,
    INSERT_TOOL,
    INSERT_TURN,
    SELECT_COLUMNS,
    UPSERT_TURN_STATE,
    row_values,
    tool_values,
    turn_state_values,
    turn_values,
    unordered_in,
)
from threadlog.store.schema import LATEST_VERSION, MIGRATIONS
from threadlog.store.turn_reads import (
    read_turn_page,
    read_turn_spans,
    read_turn_state,
)

log = get_logger("threadlog.statedb")
BUSY_TIMEOUT_MS: Final = 10_000
# Writes stamped within this window of "now" get unique, increasing milliseconds.
_LIVE_WINDOW_MS: Final = 1000


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer threadlog than this one."""


def scalar(conn: apsw.Connection, sql: str, bindings: Sequence[Any] = ()) -> Any:
    """The first column of the first row of a query (None when there is no row)."""
    rows = conn.execute(sql, bindings).fetchall()
    return rows[0][0] if rows else None


class StateDb:
    """One open state DB. Thread-safe: calls are serialised on one connection."""

    def __init__(
        self,
        path: Path,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        scratch: bool = False,
        verify: bool = True,
    ) -> None:
        """Open ``path``; ``scratch``: a database no one else opens until it is swapped in
        whole (replay's), written without a WAL or any sync (its owner syncs it if it keeps
        the file itself): a crash leaves only a scratch file the next replay starts over.
        ``verify=False`` skips the page check (``overwrite_with``'s target)."""
        self.path = path
        self.clock_ms = clock_ms
        self.scratch = scratch
        self.verify = verify
        if path.name.startswith("state_") or path.name == "state.sqlite":
            raise ValueError(f"refusing to open Codex's own database {path}")
        make_private_dirs(path.parent)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = self._connect()
        except (apsw.NotADBError, apsw.CorruptError) as exc:
            # The index is a cache of the logs: a damaged one is kept aside for a look and
            # rebuilt (the backfill refills it), never a reason not to start.
            aside = self._move_aside()
            log.warning(
                "index_corrupt_moved_aside", path=str(path), moved_to=str(aside), error=str(exc)
            )
            self._conn = self._connect()

    def _connect(self) -> apsw.Connection:
        conn = apsw.Connection(str(self.path))
        self._conn = conn
        try:
            conn.setbusytimeout(BUSY_TIMEOUT_MS)
            if self.scratch:  # a quarter of a replay's commit time went to the WAL
                conn.execute("PRAGMA journal_mode=MEMORY")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            else:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self.path.chmod(0o600)
            self._migrate()
            # A damaged page can hide behind a valid header: look before trusting it.
            check = scalar(conn, "PRAGMA quick_check") if self.verify else "ok"
            if check != "ok":
                raise apsw.CorruptError(f"quick_check: {check}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> Path:
        """Rename the database (and its WAL and shared-memory files) out of the way."""
        stamp = self.clock_ms()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        return aside

    @classmethod
    def for_home(cls, home: Path, **kwargs: Any) -> StateDb:
        """Open (creating if needed) ``threadlog.sqlite`` in a home."""
        return cls(home / STATE_DB_FILE, **kwargs)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> StateDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions and migrations -------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[apsw.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    def user_version(self) -> int:
        """The schema version stored in the file."""
        with self._lock:
            return int(scalar(self._conn, "PRAGMA user_version"))

    def _migrate(self) -> None:
        # Up to date: no write lock needed, so opening never waits for another writer.
        if int(scalar(self._conn, "PRAGMA user_version")) == LATEST_VERSION:
            return
        with self.transaction() as conn:
            version = int(scalar(conn, "PRAGMA user_version"))
            if version > LATEST_VERSION:
                raise SchemaTooNewError(
                    f"{self.path} has schema version {version}, newer than this threadlog "
                    f"understands ({LATEST_VERSION}); upgrade threadlog or delete the file "
                    "(it is a cache: `threadlog replay` rebuilds it)"
                )
            for target in range(version, LATEST_VERSION):
                conn.execute(MIGRATIONS[target])
                conn.execute(f"PRAGMA user_version = {target + 1}")

    @contextmanager
    def indexes_deferred(self) -> Iterator[None]:
        """A bulk load into a database nobody else reads yet (replay's scratch file): the
        secondary indexes and the search index's triggers are dropped for the block and
        built once at its end, which costs far less than keeping them in step row by row.
        The definitions are read back from the schema itself, so none can drift."""
        with self.transaction() as conn:
            saved: list[Any] = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' "
                "AND tbl_name IN ('threads', 'thread_turns')"
            ).fetchall()
            for kind, name, _ in saved:
                conn.execute(f'DROP {"INDEX" if kind == "index" else "TRIGGER"} "{name}"')
        try:
            yield
        finally:
            with self.transaction() as conn:
                for _, _, sql in saved:
                    conn.execute(sql)
                conn.execute("INSERT INTO threads_search(threads_search) VALUES ('rebuild')")

    def query(self, sql: str, bindings: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run a read query and return all rows (for the listing and doctor modules)."""
        with self._lock:
            return self._conn.execute(sql, bindings).fetchall()

    # --- threads -------------------------------------------------------------------

    def _unique_updated_at(self, conn: apsw.Connection, requested_ms: int) -> int:
        """``requested_ms``, bumped past every stored value when it is a live write."""
        if requested_ms < self.clock_ms() - _LIVE_WINDOW_MS:
            return requested_ms  # backfill or repair: keep the file's own time
        high = scalar(conn, "SELECT MAX(updated_at_ms) FROM threads")
        return max(requested_ms, int(high or 0) + 1)

    def upsert_records(self, records: Sequence[IndexEntry], *, keep_git: bool = True) -> None:
        """Insert or update rows and write each thread's dynamic tools once, atomically."""
        with self.transaction() as conn:
            ids = [parse_thread_id(record.row.id) for record in records]
            settled = self.clock_ms() - _LIVE_WINDOW_MS
            bulk = [
                record.row.updated_at_ms < settled
                and (record.turns is None or record.turns_from == 0)
                for record in records
            ]
            absent = absent_ids(conn, [t for t, b in zip(ids, bulk, strict=True) if b])
            # Runs of threads never seen (and not live writes) go in a table at a time; the
            # others one by one, in the batch's order, as every thread did before.
            run: list[IndexEntry] = []
            for tid, record, may_bulk in zip(ids, records, bulk, strict=True):
                if may_bulk and tid in absent:
                    absent.discard(tid)  # a second record of the thread updates the first
                    row = record.row
                    run.append(
                        record
                        if row.id == tid
                        else msgspec.structs.replace(
                            record, row=msgspec.structs.replace(row, id=tid)
                        )
                    )
                    continue
                if run:
                    insert_absent(conn, run)
                    run = []
                absent.discard(tid)
                stored = self._upsert(conn, record.row, record.dynamic_tools, keep_git=keep_git)
                if record.turns is not None:
                    self._write_turns(conn, stored.id, record)
            if run:
                insert_absent(conn, run)

    def upsert_thread(
        self,
        row: ThreadRow,
        dynamic_tools: Sequence[DynamicToolSpec] = (),
        *,
        keep_git: bool = True,
    ) -> ThreadRow:
        """Insert or update one row; returns the row as stored (final ``updated_at_ms``)."""
        with self.transaction() as conn:
            return self._upsert(conn, row, dynamic_tools, keep_git=keep_git)

    def _upsert(
        self,
        conn: apsw.Connection,
        row: ThreadRow,
        dynamic_tools: Sequence[DynamicToolSpec],
        *,
        keep_git: bool,
    ) -> ThreadRow:
        row = msgspec.structs.replace(row, id=parse_thread_id(row.id))
        if keep_git:
            existing = conn.execute(
                "SELECT git_sha, git_branch, git_origin_url FROM threads WHERE id = ?", (row.id,)
            ).fetchall()
            if existing and any(existing[0]):
                sha, branch, origin = existing[0]
                row = msgspec.structs.replace(
                    row, git_sha=sha, git_branch=branch, git_origin_url=origin
                )
        row = msgspec.structs.replace(
            row, updated_at_ms=self._unique_updated_at(conn, row.updated_at_ms)
        )
        conn.execute(INSERT_THREAD, row_values(row))
        for position, tool in enumerate(dynamic_tools):
            conn.execute(INSERT_TOOL, tool_values(row.id, position, tool))
        return row

    @staticmethod
    def _write_turns(conn: apsw.Connection, thread_id: str, record: IndexEntry) -> None:
        """Replace the spans from ``record.turns_from`` on; keep the state's counts."""
        assert record.turns is not None
        start = record.turns_from
        state: list[Any] = conn.execute(
            "SELECT turn_count, unordered FROM thread_turns_state WHERE thread_id = ?", (thread_id,)
        ).fetchall()
        count, unordered = (int(state[0][0]), int(state[0][1])) if state else (0, 0)
        if start > count:
            raise ValueError(f"turn spans from {start} would leave a gap after {count}")
        dropped = scalar(
            conn,
            "SELECT COUNT(*) FROM thread_turns WHERE thread_id = ? AND position >= ? "
            "AND ordinal IS NULL",
            (thread_id, start),
        )
        conn.execute(
            "DELETE FROM thread_turns WHERE thread_id = ? AND position >= ?", (thread_id, start)
        )
        conn.executemany(
            INSERT_TURN, [turn_values(thread_id, n, t) for n, t in enumerate(record.turns, start)]
        )
        conn.execute(
            UPSERT_TURN_STATE,
            turn_state_values(
                thread_id,
                start + len(record.turns),
                unordered - int(dropped or 0) + unordered_in(record.turns),
                record.row.log_position,
            ),
        )

    def get_turn_state(self, thread_id: str) -> TurnIndexState | None:
        """What the index knows of a thread's turns, or None."""
        return read_turn_state(self.query, thread_id)

    def get_turn_spans(self, thread_id: str) -> list[TurnSpan]:
        """All of a thread's spans in order."""
        return read_turn_spans(self.query, thread_id)

    def get_turn_page(
        self,
        thread_id: str,
        *,
        anchor: int | None,
        include_anchor: bool,
        limit: int,
        newest_first: bool,
    ) -> list[TurnSpan]:
        """Up to ``limit`` spans by ordinal after ``anchor`` (an index seek, then the page)."""
        return read_turn_page(
            self.query,
            thread_id,
            anchor=anchor,
            include_anchor=include_anchor,
            limit=limit,
            newest_first=newest_first,
            source="thread_turns INDEXED BY idx_thread_turns_ordinal",
        )

    def touch_updated_at(self, thread_id: str, at_ms: int | None = None) -> int | None:
        """Stamp a thread as just updated (unique ms); None when there is no such row."""
        tid = parse_thread_id(thread_id)
        with self.transaction() as conn:
            stamp = self._unique_updated_at(conn, self.clock_ms() if at_ms is None else at_ms)
            conn.execute("UPDATE threads SET updated_at_ms = ? WHERE id = ?", (stamp, tid))
            return stamp if conn.changes() else None

    def mark_archived(self, thread_id: str, rollout_path: str, *, updated_at_ms: int) -> None:
        """Record an archive move: new path, ``archived``, ``archived_at`` now."""
        tid = parse_thread_id(thread_id)
        with self.transaction() as conn:
            conn.execute(
                "UPDATE threads SET archived = 1, archived_at_ms = ?, rollout_path = ?, "
                "updated_at_ms = ? WHERE id = ?",
                (self.clock_ms(), rollout_path, updated_at_ms, tid),
            )

    def mark_unarchived(self, thread_id: str, rollout_path: str, *, updated_at_ms: int) -> None:
        """Record an unarchive move: new path, live again."""
        tid = parse_thread_id(thread_id)
        with self.transaction() as conn:
            conn.execute(
                "UPDATE threads SET archived = 0, archived_at_ms = NULL, rollout_path = ?, "
                "updated_at_ms = ? WHERE id = ?",
                (rollout_path, self._unique_updated_at(conn, updated_at_ms), tid),
            )

    def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set (or clear) a thread's name; False when there is no such row."""
        tid = parse_thread_id(thread_id)
        with self.transaction() as conn:
            conn.execute("UPDATE threads SET name = ? WHERE id = ?", (name, tid))
            return bool(conn.changes())

    def delete_thread(self, thread_id: str) -> bool:
        """Remove a row (and its dynamic tools); False when there was none."""
        tid = parse_thread_id(thread_id)
        with self.transaction() as conn:
            conn.execute("DELETE FROM threads WHERE id = ?", (tid,))
            return bool(conn.changes())

    def get_thread(self, thread_id: str) -> ThreadRow | None:
        """The row of one thread, or None."""
        return read_row(self.query, thread_id)

    def get_dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools in position order, or None when it has none."""
        return read_dynamic_tools(self.query, thread_id)

    @classmethod
    def overwrite_with(cls, path: Path, source: Path) -> None:
        """Make the database at ``path`` an exact copy of ``source`` (replay's swap).

        Every page is overwritten, so it is not checked first (its check read the whole
        file, a fifth of a replay's tail); one too damaged to take the copy is opened as
        any damaged index is, moved aside for a fresh one, which then takes it."""
        try:
            cls(path, verify=False)._take_contents_and_close(source)
        except (apsw.CorruptError, apsw.NotADBError):
            cls(path)._take_contents_and_close(source)

    def _take_contents_and_close(self, source: Path) -> None:
        try:
            self.replace_contents_from(source)
        finally:
            self.close()

    def replace_contents_from(self, source: Path) -> None:
        """Make this database an exact copy of ``source`` in one transaction.

        SQLite's backup API copies every page in a single step under the write lock, so a
        reader sees either the old index or the new one, never a mix.
        """
        src = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            with self._lock, self._conn.backup("main", src, "main") as backup:
                backup.step(-1)
        finally:
            src.close()

    def all_rows(self) -> list[ThreadRow]:
        """Every row (for verification and repair; not for listing)."""
        return [row_from_sql(r) for r in self.query(f"SELECT {SELECT_COLUMNS} FROM threads")]
