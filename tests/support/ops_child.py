"""Child process for the kill matrix: thread operations, one after another, until killed.

Usage: python -m tests.support.ops_child HOME SEED
Runs, in an order the seed decides, archive, unarchive, rename, fork (materialization),
a backfill, the replay swap and ``doctor --repair`` on HOME, through the same runtime and
index workers ``serve`` and the CLI use. Prints ``op NAME`` (flushed) as each one starts,
so the parent knows where its kill landed.
"""

from __future__ import annotations

import random
import sys
from functools import partial
from pathlib import Path

import trio

from threadlog.actors.cli.common import configure_logging
from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.errors import ThreadError
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.doctor import doctor
from threadlog.projections.index.replay import replay
from threadlog.store.files import FileLogStore
from threadlog.store.layout import STATE_DB_FILE

OPS = ("archive", "unarchive", "rename", "fork", "backfill", "replay", "doctor")


async def main(home: Path, seed: int) -> None:
    """Operate until killed."""
    rng = random.Random(seed)
    logs = FileLogStore(home)
    runtime = Runtime(
        home, driver=ScriptedDriver(), defaults=ThreadSettings(cwd=str(home)), passivation_timeout=0
    )
    async with runtime:
        n = 0
        while True:
            n += 1
            op = rng.choice(OPS)
            print(f"op {op}", flush=True)
            live = sorted(r.thread_id for r in logs.logs(archived=False))
            archived = sorted(r.thread_id for r in logs.logs(archived=True))
            try:
                if op == "archive" and live:
                    await runtime.archive_thread(rng.choice(live))
                elif op == "unarchive" and archived:
                    await runtime.unarchive_thread(rng.choice(archived))
                elif op == "rename" and live:
                    await runtime.rename_thread(rng.choice(live), f"name {seed}-{n}")
                elif op == "fork" and live:
                    await runtime.fork_thread(rng.choice(live))
                elif op == "backfill":
                    index = runtime.index
                    if index is not None:
                        index.reset_backfill()
                        await trio.to_thread.run_sync(run_backfill, logs, index)
                elif op == "replay":
                    await trio.to_thread.run_sync(lambda: replay(home, home / STATE_DB_FILE))
                elif op == "doctor":
                    index = runtime.index
                    if index is not None:
                        await trio.to_thread.run_sync(partial(doctor, logs, index, fix=True))
            except ThreadError:
                continue  # a thread that moved meanwhile: a refusal, not a fault


if __name__ == "__main__":
    configure_logging("json")  # to stderr: stdout carries only the ``op`` lines
    trio.run(main, Path(sys.argv[1]), int(sys.argv[2]))
