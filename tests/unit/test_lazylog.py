"""Loggers that import structlog at their first line: nothing logs before it is configured."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import structlog

from threadlog.store import lazylog


def test_first_lines_from_many_threads_all_wait_for_the_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lazylog, "_configured", False)
    monkeypatch.setattr(lazylog, "_configure", None)
    seen: list[str] = []

    def collect(logger: Any, method: str, event: dict[str, Any]) -> str:
        seen.append(event["event"])
        return ""

    def slow_configure() -> None:
        time.sleep(0.2)  # the others must wait, not log to structlog's default (stdout)
        structlog.configure(
            processors=[collect],
            logger_factory=structlog.ReturnLoggerFactory(),
            cache_logger_on_first_use=False,
        )

    lazylog.configure_with(slow_configure)
    barrier = threading.Barrier(8)

    def log(n: int) -> None:
        barrier.wait()
        lazylog.get_logger("race").info(f"line {n}")

    threads = [threading.Thread(target=log, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(seen) == sorted(f"line {n}" for n in range(8))
        assert capsys.readouterr().out == ""
    finally:
        structlog.reset_defaults()
