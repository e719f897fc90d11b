"""The last page of ``thread/turns/list`` on a huge 0.169+ thread, beside a full fold of it.

Run: ``.venv/bin/python bench/turns.py [MB]`` (default 1024 MB; deleted after). Writes one
current-era thread of about MB megabytes with our own writer (``threadlog.testing.current``:
turns of a long command output and answer), indexes it (the backfill, timed once), then
times, best of three, side by side in one run:

* the full fold: ``read_thread(..., include_turns=True)`` (every line decoded and folded);
* the last page: ``list_turns(limit=2)`` through the index (its spans read with
  ``read_range`` and folded), with the bytes it read.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_of

from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.read_thread import read_thread
from threadlog.projections.index.turns_list import TurnsListParams, TurnsMetrics, list_turns
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.testing.current import CurrentTurn, CurrentWriter

THREAD = "01a23595-0a44-7751-bd2b-ceb90b05bfb4"


def write_thread(home: Path, megabytes: int) -> Path:
    """One thread of about ``megabytes`` MB, written in chunks."""
    day = home / "sessions" / "2026" / "11" / "30"
    day.mkdir(parents=True)
    path = day / f"rollout-2026-11-30T00-53-20-{THREAD}.jsonl"
    writer = CurrentWriter(THREAD)
    writer.meta()
    target = megabytes * 1_000_000
    written = 0
    n = 0
    with path.open("wb") as stream:
        stream.write(b"".join(writer.lines))  # the meta
        while written < target:
            writer.lines.clear()
            for _ in range(200):
                writer.turn(
                    n, CurrentTurn(f"turn {n}: " + "please look " * 40, "done " * 400, "ls -la")
                )
                n += 1
            chunk = b"".join(writer.lines)
            stream.write(chunk)
            written += len(chunk)
    return path


def main() -> None:
    """Write, index, then time the full fold and the last page."""
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1024
    home = Path(tempfile.mkdtemp(prefix="threadlog-bench-turns-")) / "home"
    path = write_thread(home, megabytes)
    size = path.stat().st_size
    logs = FileLogStore(home)
    index = SqliteIndex.open(home / "threadlog.sqlite")
    start = time.perf_counter()
    run_backfill(logs, index)
    backfill = time.perf_counter() - start
    state = index.turn_state(THREAD)
    turns = state.count if state else 0
    metrics = TurnsMetrics()
    params = TurnsListParams(THREAD, limit=2)
    page = best_of(3, lambda: list_turns(logs, params, index=index, metrics=metrics))
    fold = best_of(3, lambda: read_thread(logs, THREAD, include_turns=True))
    per_page = metrics.bytes_read // 3
    print(f"thread: {size / 1e6:,.0f} MB, {turns:,} turns")
    print(f"backfill (once): {backfill:.2f} s ({size / 1e6 / backfill:,.0f} MB/s)")
    print(f"full fold (thread/read with turns): {fold:.3f} s")
    print(f"last page (thread/turns/list limit 2): {page * 1000:.2f} ms, {per_page:,} bytes read")
    print(f"ratio full fold / last page: {fold / page:,.0f}x")
    index.close()
    shutil.rmtree(home.parent)


if __name__ == "__main__":
    main()
