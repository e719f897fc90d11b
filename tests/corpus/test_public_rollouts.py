"""The public real-world rollouts (``codex-rollouts/``) fold to their golden folds.

Each file's golden is the shape of what the folds make of it: per turn its status and the
kinds of its items, and the index row's facts. Text from the files (messages, paths,
titles) is never stored here, only its SHA-256, since the files hold other people's words.
A change that alters any fold of these files shows up as a diff of this golden; after a
deliberate change, regenerate it with ``THREADLOG_REGOLD=1 pytest tests/corpus``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.corpus import CODEX_ROLLOUTS
from threadlog.events.ids import is_thread_id
from threadlog.projections.history import build_turns
from threadlog.projections.metadata import MetadataExtractor
from threadlog.store.reader import ReadReport, read_items

GOLDEN = Path(__file__).with_name("golden") / "public_rollouts.json"
FILES = sorted(p for p in CODEX_ROLLOUTS.rglob("*.jsonl") if p.name != "session_index.jsonl")
_TEXT_FIELDS = (
    "cwd",
    "title",
    "first_user_message",
    "rollout_path",
    "git_origin_url",
    "git_sha",
    "git_branch",
)
_DROPPED = ("log_position",)


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()[:16]


def fold_shape(path: Path) -> dict[str, Any]:
    """What the folds make of one file, without its text."""
    report = ReadReport()
    items = read_items(path, report=report)
    counter = itertools.count()
    turns = build_turns(items, new_id=lambda: f"implicit-{next(counter)}")
    extractor = MetadataExtractor(
        thread_id="01a20ab1-0ea2-7d20-b9b7-cee0ff50827c", rollout_path="x", created_at_ms=0
    )
    extractor.feed_all(items)
    row = msgspec.to_builtins(extractor.entry().row)
    for field in _TEXT_FIELDS:
        row[field] = _digest(row[field])
    for field in _DROPPED:
        row.pop(field)
    return {
        "lines": len(items),
        "bad_lines": report.bad_lines,
        "turns": [
            {
                "status": turn.status,
                "error": turn.error is not None,
                "items": [type(item).__name__ for item in turn.items],
            }
            for turn in turns
        ],
        "row": row,
        "identified": is_thread_id(row["id"]),
    }


def _golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


def test_the_golden_covers_every_public_rollout() -> None:
    assert len(FILES) >= 15
    if os.environ.get("THREADLOG_REGOLD"):
        shapes = {str(p.relative_to(CODEX_ROLLOUTS)): fold_shape(p) for p in FILES}
        GOLDEN.write_text(json.dumps(shapes, indent=1, sort_keys=True) + "\n")
    assert sorted(_golden()) == sorted(str(p.relative_to(CODEX_ROLLOUTS)) for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_each_public_rollout_folds_to_its_golden(path: Path) -> None:
    shape = fold_shape(path)
    assert shape == _golden()[str(path.relative_to(CODEX_ROLLOUTS))]
    assert shape["lines"] > 0 and shape["bad_lines"] == 0
