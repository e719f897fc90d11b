"""SQLite files as tests see them: a database's tables dumped as rows, and a database file
damaged the ways a disk or a crash damages one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import apsw

INDEX_TABLES = ("threads", "thread_dynamic_tools", "thread_turns", "thread_turns_state")
DAMAGES = ("garbage", "truncated", "torn_wal", "zeroed_page")


def dump_tables(path: Path, tables: Sequence[str] = INDEX_TABLES) -> dict[str, list[Any]]:
    """Every row of each table, in key order (to compare two databases table for table)."""
    conn = apsw.Connection(str(path))
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        conn.close()


def damage_file(db: Path, how: str) -> None:
    """Damage the database file ``db`` one of the ``DAMAGES`` ways."""
    data = db.read_bytes()
    if how == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif how == "truncated":
        db.write_bytes(data[:100])
    elif how == "torn_wal":
        db.with_name(db.name + "-wal").write_bytes(b"\x37\x7f\x06\x82" + os.urandom(3000))
    elif how == "zeroed_page":
        db.write_bytes(data[:4096] + b"\x00" * 4096 + data[8192:])
    else:
        raise ValueError(f"unknown damage {how!r}")
