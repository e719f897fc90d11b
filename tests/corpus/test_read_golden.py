"""Acceptance: our thread/read equals the real Codex app-server's answers, field for field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.support.corpus import (
    CODEX_REAL,
    CODEX_REAL_VERSIONS,
    copy_codex_home,
    rewrite_home_prefix,
)
from threadlog.projections.index.read_thread import read_thread
from threadlog.store.files import FileLogStore

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The real server could not read these; we can, and that is deliberate (see the note below).
KNOWN_SERVER_ERRORS = {
    "failed to locate rollout for thread",  # 0.105.0: thread/read of an archived thread
    "thread not loaded:",  # 0.101.0: the same, in the older server's words
}


def _implicit_ids_by_form(ours: Any, theirs: Any) -> Any:
    """Replace turn ids that are random in Codex too (implicit turns) by their form."""
    for our_turn, their_turn in zip(ours.get("turns", []), theirs.get("turns", []), strict=False):
        if (
            our_turn["id"] != their_turn["id"]
            and UUID.match(our_turn["id"])
            and UUID.match(their_turn["id"])
        ):
            our_turn["id"] = their_turn["id"] = "<uuid>"
    return ours


def project_onto(ours: Any, theirs: Any) -> Any:
    """``ours`` restricted to the keys ``theirs`` has, recursively.

    0.101.0's app-server speaks an older v2 (no ``status``, ``name``, agent fields or
    ``phase``); we answer in 0.105.0's shape, so against 0.101.0 every field the old server
    sent must match and the newer fields are extra.
    """
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {k: project_onto(ours[k], theirs[k]) if k in ours else "<missing>" for k in theirs}
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [project_onto(a, b) for a, b in zip(ours, theirs, strict=True)]
    return ours


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for version in CODEX_REAL_VERSIONS:
        for kind in ("thread_read", "thread_read_noturns"):
            for path in sorted((CODEX_REAL / version / "golden" / kind).glob("*.json")):
                cases.append((version, kind, path.stem))
    return cases


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {v: copy_codex_home(v, tmp_path_factory.mktemp(v) / "home") for v in CODEX_REAL_VERSIONS}


def test_every_thread_read_matches_the_real_server(homes: dict[str, Path]) -> None:
    mismatches: list[str] = []
    compared = 0
    for version, kind, thread_id in _cases():
        golden = json.loads(
            (CODEX_REAL / version / "golden" / kind / f"{thread_id}.json").read_text()
        )
        include_turns = golden["params"]["includeTurns"]
        home = homes[version]
        ours = msgspec.to_builtins(
            read_thread(FileLogStore(home), thread_id, include_turns=include_turns)
        )
        if "error" in golden:
            message = golden["error"]["message"]
            assert any(m in message for m in KNOWN_SERVER_ERRORS), message
            # We read archived threads from archived_sessions/ where the real server failed.
            assert ours["id"] == thread_id
            assert Path(ours["path"]).parent == home / "archived_sessions"
            assert ours["preview"] and (ours["turns"] != []) == include_turns
            other = "thread_read_noturns" if include_turns else "thread_read"
            reference = json.loads(
                (CODEX_REAL / version / "golden" / other / f"{thread_id}.json").read_text()
            )
            if "result" in reference:  # the same server answered the other variant
                expected = rewrite_home_prefix(reference["result"]["thread"], version, home)
                expected["turns"] = ours["turns"]
                assert ours == expected
            continue
        expected = rewrite_home_prefix(golden["result"]["thread"], version, home)
        _implicit_ids_by_form(ours, expected)
        # extra fields are allowed in every era: only the golden's keys are compared
        ours = project_onto(ours, expected)
        compared += 1
        if ours != expected:
            diff = {
                k: (ours.get(k), expected.get(k))
                for k in set(ours) | set(expected)
                if ours.get(k) != expected.get(k)
            }
            mismatches.append(f"{version} {kind} {thread_id}: {str(diff)[:600]}")
    assert compared > 400
    assert mismatches == [], "\n".join(mismatches[:20]) + f"\n({len(mismatches)} in all)"
