"""``thread/list`` pages inside ``serve`` at 100,000 threads, beside the bare SQLite query.

In one run, for the first page, a page 90% deep, and a search for a rare and a common
term: the median round trip of a ``thread/list`` request to a real ``threadlog serve``
(JSON-RPC over its stdin/stdout), and the median time of the same page's SQL run bare
through apsw on the same database (the listing query a page makes, rows fetched); and, for
the floor, the round trip of a request that reads nothing. Search results are checked
against a scan (``instr``), to show the index answers the same.

Run: ``.venv/bin/python bench/pages.py [THREADS]`` (default 100,000). The home is built once
into ``bench/out/pages-<threads>`` by our own writer and backfilled.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import apsw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadlog.events import RolloutLine, encode_line
from threadlog.events.event_msgs import UserMessage
from threadlog.events.ids import Uuid7Generator
from threadlog.events.response_items import InputText, Message
from threadlog.events.rollout import SessionMeta
from threadlog.events.rows import ThreadQuery
from threadlog.events.timefmt import format_timestamp_ms
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.listing import ListParams, resolve
from threadlog.store.files import FileLogStore
from threadlog.store.layout import new_rollout_path
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.store.thread_listing import RARE_MATCHES, build_list_sql, match_phrase

REPO = Path(__file__).resolve().parents[1]
WORDS = [
    "fix",
    "add",
    "test",
    "refactor",
    "parser",
    "index",
    "cursor",
    "thread",
    "turn",
    "model",
    "build",
    "deploy",
    "docs",
]
RARE, COMMON = "zanzibar", "parser"  # in ~0.02% and ~35% of titles
SAMPLES = 60


def build_home(home: Path, threads: int) -> None:
    """``threads`` one-turn rollouts with short varied titles, then a backfill."""
    if (home / "done").exists():
        return
    rng = random.Random(5)
    gen = Uuid7Generator(clock_ms=lambda: 1_760_000_000_000, random_bytes=rng.randbytes)
    start = datetime(2026, 1, 1)
    for n in range(threads):
        tid = gen()
        created = start + timedelta(seconds=37 * n)
        ms = int(created.timestamp() * 1000)
        words = rng.sample(WORDS, 4)
        if rng.random() < 0.0002:
            words.append(RARE)
        title = " ".join(words) + f" #{n}"
        stamp = format_timestamp_ms(ms)
        meta = SessionMeta(
            id=tid,
            timestamp=stamp,
            cwd="/home/u/proj",
            originator="bench",
            cli_version="0.105.0",
            source="cli",
            model_provider="openai",
        )
        lines = [
            encode_line(RolloutLine(stamp, meta)),
            encode_line(RolloutLine(stamp, Message(role="user", content=[InputText(title)]))),
            encode_line(RolloutLine(stamp, UserMessage(message=title))),
        ]
        path = new_rollout_path(home, tid, created)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(lines))
    index = SqliteIndex.for_home(home)
    run_backfill(FileLogStore(home), index)
    index.close()
    (home / "done").touch()


def bare(db: apsw.Connection, query: ThreadQuery, rare: bool = False) -> float:
    """Median seconds of the page's SQL, run bare."""
    sql, args = build_list_sql(query, rare=rare)
    times = []
    for _ in range(SAMPLES):
        t = time.perf_counter()
        db.execute(sql, args).fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


class Serve:
    """A ``threadlog serve`` subprocess spoken to over its pipes."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "threadlog.actors.cli.main", "serve", "--home", str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.ids = 0
        self.call("initialize", {"clientInfo": {"name": "bench", "version": "1"}})

    def call(self, method: str, params: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.ids += 1
        self.proc.stdin.write(
            json.dumps({"id": self.ids, "method": method, "params": params}).encode() + b"\n"
        )
        self.proc.stdin.flush()
        while True:
            message = json.loads(self.proc.stdout.readline())
            if message.get("id") == self.ids:
                return message["result"]

    def page(self, params: dict[str, Any]) -> tuple[float, Any]:
        """Median seconds of one ``thread/list`` round trip, and its result."""
        times, result = [], None
        for _ in range(SAMPLES):
            t = time.perf_counter()
            result = self.call("thread/list", params)
            times.append(time.perf_counter() - t)
        return statistics.median(times), result

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    """Build (once), then measure each page in serve and bare, side by side."""
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    home = Path(__file__).resolve().parent / "out" / f"pages-{threads}"
    build_home(home, threads)
    db = apsw.Connection(str(home / "threadlog.sqlite"), flags=apsw.SQLITE_OPEN_READONLY)
    serve = Serve(home)
    # a cursor 90% deep: walk there once through serve
    # the home configures no provider; name the one its threads have
    params: dict[str, Any] = {"limit": 25, "sourceKinds": ["cli"], "modelProviders": ["openai"]}
    first = serve.call("thread/list", params)
    cursor = first["nextCursor"]
    deep = {**params, "limit": 1000, "cursor": cursor}
    for _ in range(int(threads * 0.9) // 1000 - 1):
        cursor = serve.call("thread/list", deep)["nextCursor"]
        deep["cursor"] = cursor
    cases: list[tuple[str, dict[str, Any], ThreadQuery, bool]] = []
    for label, extra in (
        ("first page", {}),
        ("page 90% deep", {"cursor": cursor}),
        (f"search, rare term {RARE!r}", {"searchTerm": RARE}),
        (f"search, common term {COMMON!r}", {"searchTerm": COMMON}),
    ):
        rpc = {**params, **extra}
        # the very query serve makes of these params (the home's provider: openai)
        query = resolve(
            ListParams(
                limit=25,
                source_kinds=["cli"],
                model_providers=["openai"],
                cursor=extra.get("cursor"),
                search_term=extra.get("searchTerm"),
            ),
            "openai",
        )
        term = extra.get("searchTerm")
        rare = term is not None and count_matches_ro(db, term) < RARE_MATCHES
        cases.append((label, rpc, query, rare))
    floor = []
    for _ in range(SAMPLES):
        t = time.perf_counter()
        serve.call("thread/loaded/list", {})
        floor.append(time.perf_counter() - t)
    print(f"home: {threads:,} threads")
    print(
        f"round trip of a request that reads nothing (thread/loaded/list): "
        f"{statistics.median(floor) * 1e3:.3f} ms"
    )
    print(f"{'page':34} {'serve (ms)':>11} {'bare SQL (ms)':>14} {'ratio':>7}")
    for label, rpc, query, rare in cases:
        in_serve, result = serve.page(rpc)
        alone = bare(db, query, rare)
        print(f"{label:34} {in_serve * 1e3:11.3f} {alone * 1e3:14.3f} {in_serve / alone:7.2f}")
        if "searchTerm" in rpc:
            term = rpc["searchTerm"]
            scan = db.execute(
                "SELECT id FROM threads WHERE archived = 0 AND first_user_message <> '' "
                "AND source_kind = 'cli' AND model_provider = 'openai' "
                "AND (instr(title, ?) > 0 OR instr(coalesce(name, ''), ?) > 0) "
                "ORDER BY created_at_ms DESC, id DESC LIMIT 25",
                (term, term),
            ).fetchall()
            assert [t["id"] for t in result["data"]] == [r[0] for r in scan], label
    serve.close()


def count_matches_ro(db: apsw.Connection, term: str) -> int:
    rows = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM threads_search WHERE threads_search MATCH ? LIMIT ?)",
        (match_phrase(term), RARE_MATCHES),
    ).fetchall()
    return int(rows[0][0])


if __name__ == "__main__":
    main()
