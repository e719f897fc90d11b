"""Loggers that import structlog when they first log, configured by then.

structlog (with the console renderer it imports, and rich behind that) is a sizeable part of
a command's start-up, and most commands log nothing on a good run. So every module takes
its logger from ``get_logger``: a stand-in that imports structlog, applies the
configuration the command line registered (``configure_with``), and becomes the real logger
on its first method call. Nothing logs unconfigured: the configuration runs before any
logger exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_configure: Callable[[], None] | None = None
_configured = False
# The first log lines may come from several threads at once (a backfill worker and the trio
# thread): none may log before the configuration is in place, or it would go to structlog's
# default, stdout, which is serve's protocol stream.
_lock = threading.Lock()


def configure_with(configure: Callable[[], None]) -> None:
    """Run ``configure`` (which sets structlog up) before the first log line, or now if a
    logger has already been used."""
    global _configure
    with _lock:
        _configure = configure
        if _configured:
            configure()


def _ensure_configured() -> None:
    global _configured
    if _configured:
        return
    with _lock:
        if not _configured:
            if _configure is not None:
                _configure()
            _configured = True  # only now: the others wait for the configuration above


class LazyLogger:
    """A structlog logger, imported and made on its first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            _ensure_configured()
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> Any:
    """The named logger (structlog's ``BoundLogger`` interface, loaded lazily)."""
    return LazyLogger(name)
