"""Progress for long work: a bar on a terminal, structured log events otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import structlog

from threadlog.projections.index.backfill import BackfillProgress

log = structlog.get_logger("threadlog.progress")


class ProgressReporter:
    """Callable that renders ``BackfillProgress`` updates."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else 2.0
        self.started = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: BackfillProgress) -> None:
        """Show an update (throttled; the last one always shows)."""
        now = time.monotonic()
        final = progress.done >= progress.total
        if not final and now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = progress.bytes / elapsed / 1e6
        if self.tty:
            width = 30
            filled = width * progress.done // max(progress.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {progress.done}/{progress.total} files  {rate:6.1f} MB/s"
            )
            self.stream.flush()
            self._drawn = True
        else:
            log.info(
                "progress",
                task=self.label,
                done=progress.done,
                total=progress.total,
                mb_per_s=round(rate, 1),
            )

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
