"""Child process for the disk-full test: a thread whose log hits the file-size limit.

Usage: python -m tests.support.diskfull_child HOME
Runs one small turn, then caps the process's file size (``RLIMIT_FSIZE``) just above the
log, runs a turn whose answer does not fit, lifts the cap, and runs a third turn. Prints one
JSON line per turn: its status, its error, and the log's size.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from pathlib import Path

import trio

from threadlog.actors.cli.common import configure_logging
from threadlog.actors.drivers.scripted import Say, ScriptedDriver
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.errors import LogFullError
from threadlog.events.ops import TextUserInput
from threadlog.events.views import Turn


async def main(home: Path) -> None:
    """Three turns; the middle one meets a full file."""
    driver = ScriptedDriver({"big": [Say(text="y" * 50_000)]}, default=[Say(text="ok")])
    runtime = Runtime(home, driver=driver, defaults=ThreadSettings(cwd=str(home)))
    async with runtime, runtime.subscribe() as events:
        thread = await runtime.start_thread()

        async def turn(text: str) -> dict[str, object]:
            try:
                await runtime.start_turn(thread.id, [TextUserInput(text)])
            except LogFullError as exc:
                return {"status": "notStarted", "error": exc.message}
            async for note in events:
                if note.method == "turn/completed":
                    done: Turn = note.params["turn"]
                    ref = runtime.logs.locate(thread.id)
                    assert ref is not None
                    size = Path(ref.location).stat().st_size
                    error = done.error.message if done.error else None
                    return {"status": done.status, "error": error, "size": size}
            raise AssertionError("no turn/completed")

        print(json.dumps(await turn("small")), flush=True)
        ref = runtime.logs.locate(thread.id)
        assert ref is not None
        path = Path(ref.location)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 2500, hard))
        # a request too big to record: refused whole, nothing kept
        print(json.dumps(await turn("x" * 50_000)), flush=True)
        # a small request whose answer does not fit: the turn fails, its start is kept
        print(json.dumps(await turn("short [[big]]")), flush=True)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(json.dumps(await turn("space is back")), flush=True)
        print(json.dumps({"thread": thread.id, "path": str(path)}), flush=True)


if __name__ == "__main__":
    # The kernel signals a process that writes past its limit; ignored, the write fails
    # with EFBIG instead, as a full disk fails it with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.umask(0o077)
    configure_logging("json")
    trio.run(main, Path(sys.argv[1]))
