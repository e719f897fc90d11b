"""Progress for long work: a bar on a terminal (drawn by rich), structured log events
otherwise."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Protocol, TextIO

from threadlog.store.lazylog import get_logger

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

log = get_logger("threadlog.progress")


class Progressing(Protocol):
    """Where long work is: a backfill's files, a copy's threads."""

    @property
    def done(self) -> int:
        """Units done."""
        ...

    @property
    def total(self) -> int:
        """Units in all."""
        ...

    @property
    def bytes(self) -> int:
        """Bytes read so far."""
        ...


class ProgressReporter:
    """Callable that renders ``BackfillProgress`` updates: a rich progress bar (files done,
    MB/s, time left) on a terminal, a throttled structured log event otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else 2.0
        self.started = time.monotonic()
        self._last = 0.0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def _progress(self, total: int) -> tuple[Progress, TaskID]:
        if self._bar is None or self._task is None:
            # rich only for a bar drawn: off a terminal its import was a tenth of the
            # command's start-up, for nothing
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TextColumn("{task.fields[rate]:6.1f} MB/s"),
                TimeRemainingColumn(),
                console=console,
                auto_refresh=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total, rate=0.0)
        return self._bar, self._task

    def __call__(self, progress: Progressing) -> None:
        """Show an update (throttled; the last one always shows)."""
        now = time.monotonic()
        final = progress.done >= progress.total
        if not final and now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = progress.bytes / elapsed / 1e6
        if self.tty:
            bar, task = self._progress(progress.total)
            bar.update(task, completed=progress.done, total=progress.total, rate=rate)
            bar.refresh()
        else:
            log.info(
                "progress",
                task=self.label,
                done=progress.done,
                total=progress.total,
                mb_per_s=round(rate, 1),
            )

    def close(self) -> None:
        """End the bar (its last state stays on screen)."""
        if self._bar is not None:
            self._bar.stop()
