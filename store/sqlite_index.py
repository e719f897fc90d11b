"""The index port on SQLite: ``SqliteIndex`` over one ``threadlog.sqlite`` (apsw).

A thin adapter: the SQL lives in ``statedb`` (rows, tools, transactions, migrations),
``thread_listing`` (keyset pages) and ``lease`` (the backfill lease); this class is the
``IndexStore`` they make together, so the index workers and the runtime never name SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threadlog.events.rollout import DynamicToolSpec
from threadlog.events.rows import (
    IndexEntry,
    ThreadPage,
    ThreadQuery,
    ThreadRow,
    TurnIndexState,
    TurnSpan,
)
from threadlog.store import lease
from threadlog.store.layout import STATE_DB_FILE
from threadlog.store.ports import BackfillState
from threadlog.store.statedb import StateDb
from threadlog.store.thread_listing import page_threads


class SqliteIndex:
    """``IndexStore`` over the state DB."""

    def __init__(self, db: StateDb) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> SqliteIndex:
        """Open (creating and migrating if needed) the database at ``path``."""
        return cls(StateDb(path, **kwargs))

    @classmethod
    def for_home(cls, home: Path, **kwargs: Any) -> SqliteIndex:
        """Open ``threadlog.sqlite`` in a Codex home."""
        return cls.open(home / STATE_DB_FILE, **kwargs)

    @property
    def path(self) -> Path:
        """The database file."""
        return self.db.path

    def upsert(self, records: Sequence[IndexEntry], *, keep_git: bool = True) -> None:
        """Insert or replace rows and their dynamic tools in one transaction."""
        self.db.upsert_records(records, keep_git=keep_git)

    def get(self, thread_id: str) -> ThreadRow | None:
        """One thread's row."""
        return self.db.get_thread(thread_id)

    def dynamic_tools(self, thread_id: str) -> list[DynamicToolSpec] | None:
        """A thread's dynamic tools."""
        return self.db.get_dynamic_tools(thread_id)

    def turn_state(self, thread_id: str) -> TurnIndexState | None:
        """What is known of a thread's turns (I7)."""
        return self.db.get_turn_state(thread_id)

    def turn_spans(self, thread_id: str) -> list[TurnSpan]:
        """All of a thread's spans (I7)."""
        return self.db.get_turn_spans(thread_id)

    def turn_page(
        self,
        thread_id: str,
        *,
        anchor: int | None,
        include_anchor: bool,
        limit: int,
        newest_first: bool,
    ) -> list[TurnSpan]:
        """A page of spans by ordinal (I7)."""
        return self.db.get_turn_page(
            thread_id,
            anchor=anchor,
            include_anchor=include_anchor,
            limit=limit,
            newest_first=newest_first,
        )

    def delete(self, thread_id: str) -> bool:
        """Remove a row."""
        return self.db.delete_thread(thread_id)

    def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set or clear a thread's name."""
        return self.db.set_name(thread_id, name)

    def page(self, query: ThreadQuery) -> ThreadPage:
        """One keyset page."""
        return page_threads(self.db, query)

    def rows(self) -> list[ThreadRow]:
        """Every row."""
        return self.db.all_rows()

    def commit_batch(self, records: Sequence[IndexEntry], watermark: str) -> None:
        """The rows and the checkpoint in one transaction (I2)."""
        with self.db.transaction():
            self.db.upsert_records(records)
            lease.checkpoint_backfill(self.db, watermark)

    def backfill_state(self) -> BackfillState:
        """The lease row."""
        return lease.get_backfill_state(self.db)

    def claim_backfill(self, lease_seconds: int = lease.BACKFILL_LEASE_SECONDS) -> bool:
        """One atomic UPDATE decides who indexes."""
        return lease.try_claim_backfill(self.db, lease_seconds)

    def complete_backfill(self, watermark: str | None = None) -> None:
        """Mark the backfill complete."""
        lease.mark_backfill_complete(self.db, watermark)

    def reset_backfill(self) -> None:
        """Back to pending."""
        lease.reset_backfill(self.db)

    def release_backfill(self) -> None:
        """Give the lease back."""
        lease.release_backfill(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
