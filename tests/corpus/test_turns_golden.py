"""Acceptance: thread/turns/list page by page equals the real 0.171 server's pages, following
our own cursors, from the files alone and through the index (and the CLI's ``turns``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.corpus import CODEX_REAL, copy_codex_home
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.turns_list import TurnsListParams, TurnsMetrics, list_turns
from threadlog.store.files import FileLogStore
from threadlog.store.sqlite_index import SqliteIndex

VERSION = "0.171.0"
GOLDEN = CODEX_REAL / VERSION / "golden" / "thread_turns_list"
FORK = "01a23595-1cfb-75b0-9070-8cf3efd3342f"


def _goldens() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_codex_home(VERSION, tmp_path_factory.mktemp("turns") / "home")


@pytest.mark.parametrize("source", ["files", "index"])
def test_every_turns_page_matches_the_real_server(home: Path, tmp_path: Path, source: str) -> None:
    index = None
    if source == "index":
        index = SqliteIndex.open(tmp_path / "threadlog.sqlite")
        run_backfill(FileLogStore(home), index)
    metrics = TurnsMetrics()
    mismatches: list[str] = []
    pages = 0
    for path in _goldens():
        cursor = None
        for page in json.loads(path.read_text()):
            params = {k: v for k, v in page["params"].items() if k != "cursor"}
            answer = list_turns(
                FileLogStore(home),
                msgspec.convert({**params, "cursor": cursor}, TurnsListParams),
                index=index,
                metrics=metrics,
            )
            ours: dict[str, Any] = msgspec.to_builtins(answer)
            pages += 1
            if ours != page["result"]:  # data and both cursors, exactly
                mismatches.append(f"{path.stem}: {str(ours)[:300]}")
            cursor = ours["nextCursor"]
        assert cursor is None, path.stem
    assert pages == 220 and mismatches == []
    # every paginated thread was served from its spans; only the legacy one was folded whole
    assert metrics.folded_pages == 1 and metrics.span_pages == pages - 1


def test_cli_turns_pages_a_fork_through_its_parent(home: Path) -> None:
    golden = json.loads((GOLDEN / f"{FORK}.json").read_text())
    cursor: str | None = None
    for page in golden:
        args = ["turns", FORK, "--home", str(home), "--limit", "2", "--json"]
        proc = subprocess.run(
            [sys.executable, "-m", "threadlog", *args, *(["--cursor", cursor] if cursor else [])],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        ours = json.loads(proc.stdout)
        assert ours == page["result"]
        cursor = ours["nextCursor"]
    assert cursor is None


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("not json", "invalid cursor"),
        ('{"turnId": 5}', "invalid cursor"),
        (
            '{"requestedThreadId":"01a23595-0a44-7751-bd2b-ceb90b05bfb4","rolloutOrdinal":3,'
            '"includeAnchor":false,"scope":{"kind":"turns"}}',
            "belongs to thread",
        ),
        (
            json.dumps(
                {
                    "requestedThreadId": FORK,
                    "rolloutOrdinal": -1,
                    "includeAnchor": False,
                    "scope": {"kind": "turns"},
                }
            ),
            "invalid cursor",
        ),
    ],
)
def test_bad_or_foreign_cursors_are_clear_errors(home: Path, cursor: str, message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "threadlog", "turns", FORK, "--home", str(home), "--cursor", cursor],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and message in proc.stderr
