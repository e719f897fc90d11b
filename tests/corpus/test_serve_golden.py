"""Acceptance: the golden requests of the real app-server, replayed against ``threadlog serve``
on a copy of the same home, give the same results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.test_read_golden import KNOWN_SERVER_ERRORS, _implicit_ids_by_form, project_onto
from tests.support.corpus import CODEX_REAL, copy_codex_home, rewrite_home_prefix
from tests.support.rpc_client import RpcClient, start_server


@pytest.mark.parametrize("version", ["0.105.0", "0.101.0"])
async def test_golden_requests_replayed_against_serve(tmp_path: Path, version: str) -> None:
    home = copy_codex_home(version, tmp_path / "home")
    golden = CODEX_REAL / version / "golden"
    mismatches: list[str] = []
    async with start_server(home) as process:
        client = RpcClient(process)
        init = await client.initialize()
        expected_init = json.loads((golden / "initialize.json").read_text())
        assert set(init) == set(expected_init)  # the user agent names the server, so it differs
        for kind in ("thread_read", "thread_read_noturns"):
            for path in sorted((golden / kind).glob("*.json")):
                case = json.loads(path.read_text())
                answer = await client.call("thread/read", case["params"])
                if "error" in case:
                    assert any(m in case["error"]["message"] for m in KNOWN_SERVER_ERRORS)
                    assert "result" in answer  # we read archived threads (documented)
                    continue
                ours = answer["result"]["thread"]
                expected = rewrite_home_prefix(case["result"]["thread"], version, home)
                _implicit_ids_by_form(ours, expected)
                # extra fields are allowed in every era: only the golden's keys are compared
                ours = project_onto(ours, expected)
                if ours != expected:
                    mismatches.append(f"{kind}/{path.stem}")
        for variant in sorted((golden / "thread_list").iterdir()):
            pages = [json.loads(p.read_text()) for p in sorted(variant.glob("page_*.json"))]
            params: dict[str, Any] = {k: v for k, v in pages[0]["params"].items() if k != "cursor"}
            cursor = None
            for number, page in enumerate(pages):
                result = await client.result("thread/list", {**params, "cursor": cursor})
                expected = rewrite_home_prefix(page["result"]["data"], version, home)
                data = result["data"]
                # extra fields are allowed in every era: only the golden's keys are compared
                data = project_onto(data, expected)
                if data != expected:
                    mismatches.append(f"thread_list/{variant.name}/page {number}")
                cursor = result["nextCursor"]
                assert (cursor is None) == (page["result"]["nextCursor"] is None), variant.name
    assert mismatches == []
