"""The schema checker the serve tests use, checked on the real Codex's own transcripts: what
the real app-server sent validates, and the same messages with a required field taken away
do not (so a pass of serve's transcript means something)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support.corpus import CODEX_REAL
from tests.support.schemas import protocol_schema


def real_conversation(version: str) -> list[tuple[int, str, dict[str, Any]]]:
    path = CODEX_REAL / version / "app_server.transcript.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [(1, "in" if r["dir"] == ">" else "out", r["msg"]) for r in rows]


def as_lines(rows: list[tuple[int, str, dict[str, Any]]]) -> list[tuple[int, str, str]]:
    return [(conn, d, json.dumps(m)) for conn, d, m in rows]


@pytest.mark.parametrize("version", ["0.105.0", "0.171.0"])
def test_the_real_servers_messages_validate(version: str) -> None:
    rows = real_conversation(version)
    # 0.105 also sent its raw events as codex/event/* notifications, outside the typed schema
    rows = [r for r in rows if not str(r[2].get("method", "")).startswith("codex/event/")]
    count, problems = protocol_schema(version).check_conversation(as_lines(rows))
    assert problems == []
    assert count > 100


def test_a_missing_required_field_or_an_unknown_method_is_caught() -> None:
    rows = real_conversation("0.171.0")
    schema = protocol_schema("0.171.0")
    starts = {m["id"] for _, d, m in rows if d == "in" and m.get("method") == "thread/start"}
    tampered = copy.deepcopy(rows)
    answer = next(m for _, d, m in tampered if d == "out" and m.get("id") in starts)
    del answer["result"]["thread"]["sessionId"]
    note = next(m for _, d, m in tampered if d == "out" and m.get("method") == "turn/completed")
    note["params"]["turn"]["status"] = "finished"
    tampered.append((1, "out", {"method": "thread/madeUp", "params": {}}))
    _, problems = schema.check_conversation(as_lines(tampered))
    assert any("thread/start answer" in p and "sessionId" in p for p in problems)
    assert any(p.startswith("conn 1: turn/completed") for p in problems)
    assert any("thread/madeUp is not in the 0.171.0 schema" in p for p in problems)
    assert len(problems) == 3
