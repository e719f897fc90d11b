"""Indexing a realistic home: ``replay`` MB/s beside a plain msgspec decode of every line of
the same files, and ``list`` first-page and deep-page latency, in one run.

Run: ``.venv/bin/python bench/index.py [FILES] [TOTAL_MB]`` (default 10,000 files, ~1 GB).
The home is generated once into ``bench/out/home-<files>`` by our own writer and reused.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gen import thread_lines

from threadlog.events.ids import Uuid7Generator
from threadlog.projections.index.listing import ListParams, list_page
from threadlog.projections.index.replay import replay
from threadlog.store.appender import RolloutAppender
from threadlog.store.files import FileLogStore
from threadlog.store.layout import iter_rollout_files, new_rollout_path
from threadlog.store.sqlite_index import SqliteIndex


def build_home(home: Path, files: int, total_mb: int) -> None:
    """Write ``files`` rollouts of realistic, varied sizes (about ``total_mb`` in all)."""
    if (home / "done").exists():
        return
    rng = random.Random(3)
    gen = Uuid7Generator(clock_ms=lambda: 1_760_000_000_000, random_bytes=rng.randbytes)
    per_file = total_mb * 1_000_000 // files
    start = datetime(2026, 1, 1)
    for n in range(files):
        tid = gen()
        created = start + timedelta(minutes=7 * n)
        turns = max(1, int(rng.expovariate(1.0) * per_file / 30_000))
        lines = thread_lines(rng, tid, turns, int(created.timestamp() * 1000))
        with RolloutAppender(new_rollout_path(home, tid, created), durability="none") as out:
            out.append(lines)
    (home / "done").touch()


def main() -> None:
    """Build (once), then measure replay, plain decode and listing."""
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    home = Path(__file__).resolve().parent / "out" / f"home-{files}"
    build_home(home, files, total_mb)
    paths = list(iter_rollout_files(home, archived=False))
    size = sum(p.stat().st_size for p in paths)
    print(f"home: {len(paths):,} files, {size / 1e6:,.0f} MB")

    start = time.perf_counter()
    decode = msgspec.json.decode
    for path in paths:
        for line in path.read_bytes().splitlines():
            decode(line)
    t_decode = time.perf_counter() - start

    db_path = home / "threadlog.sqlite"
    start = time.perf_counter()
    stats = replay(home, db_path)
    t_replay = time.perf_counter() - start
    print(f"plain msgspec.json.decode of every line : {size / t_decode / 1e6:8.1f} MB/s")
    print(f"threadlog replay (index rebuilt, swapped): {size / t_replay / 1e6:8.1f} MB/s")
    print(f"replay / plain decode speed             : {t_decode / t_replay:8.2f}x  (target >= 1)")
    assert stats.threads == len(paths)

    db = SqliteIndex.open(db_path)
    first = ListParams(limit=25, source_kinds=["cli"])
    samples = []
    for _ in range(50):
        t = time.perf_counter()
        page = list_page(FileLogStore(home), first, index=db)
        samples.append(time.perf_counter() - t)
    first_ms = sorted(samples)[25] * 1e3
    cursor = page.next_cursor
    for _ in range(int(len(paths) * 0.9) // 25):
        cursor = list_page(
            FileLogStore(home), ListParams(limit=25, source_kinds=["cli"], cursor=cursor), index=db
        ).next_cursor
    samples = []
    for _ in range(50):
        t = time.perf_counter()
        list_page(
            FileLogStore(home), ListParams(limit=25, source_kinds=["cli"], cursor=cursor), index=db
        )
        samples.append(time.perf_counter() - t)
    deep_ms = sorted(samples)[25] * 1e3
    print(f"list first page (index)  : {first_ms:6.2f} ms")
    print(f"list page 90% deep (index): {deep_ms:6.2f} ms")
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        list_page(FileLogStore(home), first, index=None)
        samples.append(time.perf_counter() - t)
    print(f"list first page (files, no index): {sorted(samples)[2] * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()
