"""The backfill lease: one row in ``backfill_state`` decides who indexes (Codex section 5.2).

``try_claim_backfill`` is a single atomic ``UPDATE``: granted when the status is pending, or
running with a lease older than ``lease_seconds`` or held by a process of this host that
died; refused while another live worker's lease is fresh; always refused once complete
(until ``reset_backfill``, used by a full replay).
Checkpoints renew the lease. Times are Unix seconds from the DB's injectable clock.
"""

from __future__ import annotations

import os
import socket
from typing import Final

from threadlog.store.ports import BackfillState
from threadlog.store.statedb import StateDb

BACKFILL_LEASE_SECONDS: Final = 900


def _now(db: StateDb) -> int:
    return db.clock_ms() // 1000


def _ensure_row(db: StateDb) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO backfill_state (id, status, last_watermark, last_success_at, updated_at) "
            "VALUES (1, 'pending', NULL, NULL, ?) ON CONFLICT(id) DO NOTHING",
            (_now(db),),
        )


def get_backfill_state(db: StateDb) -> BackfillState:
    """The lease row (created as ``pending`` if missing; reading it takes no write lock)."""
    query = (
        "SELECT status, last_watermark, last_success_at, updated_at "
        "FROM backfill_state WHERE id = 1"
    )
    rows = db.query(query)
    if not rows:
        _ensure_row(db)
        rows = db.query(query)
    status, watermark, success, updated = rows[0]
    return BackfillState(status, watermark, success, updated)


def lease_holder() -> str:
    """Who takes a lease: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str | None) -> bool:
    """Whether a lease's holder is a process of this host that no longer runs.

    A holder on another host (a shared database) is never judged: its lease expires.
    """
    if not holder or ":" not in holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def try_claim_backfill(db: StateDb, lease_seconds: int = BACKFILL_LEASE_SECONDS) -> bool:
    """Atomically take the lease; True when this caller now owns the backfill.

    A running lease is taken over when it expired, or at once when its holder was a process
    of this host that has died (killed mid-backfill, it cannot renew or release it).
    """
    _ensure_row(db)
    now = _now(db)
    rows = db.query("SELECT status, holder FROM backfill_state WHERE id = 1")
    dead = rows[0][1] if rows and rows[0][0] == "running" and holder_is_gone(rows[0][1]) else None
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backfill_state SET status = 'running', updated_at = ?, holder = ? "
            "WHERE id = 1 AND status != 'complete' "
            "AND (status != 'running' OR updated_at <= ? OR (? IS NOT NULL AND holder = ?))",
            (now, lease_holder(), now - lease_seconds, dead, dead),
        )
        return conn.changes() == 1


def checkpoint_backfill(db: StateDb, watermark: str) -> None:
    """Record progress and renew the lease (call inside the batch's transaction)."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backfill_state SET status = 'running', last_watermark = ?, updated_at = ? "
            "WHERE id = 1",
            (watermark, _now(db)),
        )


def mark_backfill_complete(db: StateDb, watermark: str | None = None) -> None:
    """The backfill finished: ``complete`` is final until a reset."""
    now = _now(db)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backfill_state SET status = 'complete', "
            "last_watermark = COALESCE(?, last_watermark), last_success_at = ?, updated_at = ? "
            "WHERE id = 1",
            (watermark, now, now),
        )


def reset_backfill(db: StateDb) -> None:
    """Back to ``pending`` with no watermark (a full replay starts over)."""
    _ensure_row(db)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backfill_state SET status = 'pending', last_watermark = NULL, updated_at = ? "
            "WHERE id = 1",
            (_now(db),),
        )


def release_backfill(db: StateDb) -> None:
    """Give the lease back without finishing (the next worker resumes from the watermark)."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backfill_state SET status = 'pending', updated_at = ? "
            "WHERE id = 1 AND status = 'running'",
            (_now(db),),
        )
