"""``threadlog demo``: the main job in one command, on the real runtime with the scripted
driver. It runs a few threads (turns with reasoning and a real command, a failed turn, a
fork, a rename, an archive), then prints the listing and one thread's turns. Run it again
and it adds a new round beside the old one."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import trio

from threadlog.actors.cli.cmd_list import render_table, table_text
from threadlog.actors.cli.common import EXIT_OK, add_command, fail, print_json
from threadlog.actors.cli.render import render_thread
from threadlog.actors.drivers.scripted import (
    Exec,
    Fail,
    Reason,
    Say,
    Script,
    ScriptedDriver,
    Sleep,
    Tokens,
)
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.ops import TextUserInput
from threadlog.events.sources import SOURCE_KINDS
from threadlog.projections.index.listing import ListParams
from threadlog.store.codex_config import CONFIG_FILE
from threadlog.store.layout import make_private_dirs

DEFAULT_DEMO_HOME = "threadlog-demo-home"

SCRIPTS: dict[str, Script] = {
    "explain": [
        Reason(text="The user wants to know what threadlog is."),
        Say(text="threadlog keeps each thread as an append-only rollout log.", chunks=4),
        Tokens(input=120, output=24),
    ],
    "command": [
        Reason(text="Run a command to show the current directory."),
        Exec(command=["sh", "-c", "echo hello from a real subprocess; pwd"]),
        Say(text="The command ran; its output is in the log (extended history)."),
    ],
    "broken": [
        Say(text="Starting, then the model endpoint fails."),
        Sleep(seconds=0.05),
        Fail(message="the scripted model returned HTTP 500", info="internal_server_error"),
    ],
}


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    add_command(
        subparsers,
        "demo",
        run,
        "run a few threads through the runtime and show them",
        description=__doc__,
        examples=["threadlog demo", "threadlog demo --home /tmp/demo --json"],
        home_help=f"home to run in (default: ./{DEFAULT_DEMO_HOME}, created when missing)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo in ``--home`` (default ``./threadlog-demo-home``)."""
    home = (args.home or Path(DEFAULT_DEMO_HOME)).expanduser().resolve()
    try:
        summary = trio.run(_demo, home)
    except OSError as exc:
        return fail(f"demo failed: {exc}")
    if args.json:
        print_json(summary)
    else:
        print(summary["text"])
    return EXIT_OK


async def _turn(runtime: Runtime, thread_id: str, text: str) -> None:
    await runtime.start_turn(thread_id, [TextUserInput(text)])
    await runtime.wait_turn(thread_id)


async def _demo(home: Path) -> dict[str, Any]:
    make_private_dirs(home)
    config = home / CONFIG_FILE
    if not config.exists():
        # As Codex configures the provider it writes with, so listings show these threads.
        config.write_text(f'model_provider = "{ThreadSettings(cwd=".").model_provider}"\n')
    runtime = Runtime(
        home,
        driver=ScriptedDriver(SCRIPTS),
        persistence="extended",
        defaults=ThreadSettings(cwd=os.getcwd(), model="scripted-demo"),
    )
    async with runtime:
        main = await runtime.start_thread()
        await _turn(runtime, main.id, "What is threadlog? [[explain]]")
        await _turn(runtime, main.id, "Show me a command. [[command]]")
        await runtime.rename_thread(main.id, "Demo: a thread with a command")

        failing = await runtime.start_thread()
        await _turn(runtime, failing.id, "This one will fail. [[broken]]")

        fork = await runtime.fork_thread(main.id, before_user_turn=1)
        await _turn(runtime, fork.id, "Continue from the fork.")
        await runtime.rename_thread(fork.id, "Demo: forked before the command")

        archived = await runtime.start_thread()
        await _turn(runtime, archived.id, "A thread that gets archived.")
        await runtime.archive_thread(archived.id)

        listing = await runtime.list_threads(ListParams(source_kinds=list(SOURCE_KINDS), limit=10))
        shown = await runtime.read_thread(main.id, include_turns=True)
        failed = await runtime.read_thread(failing.id, include_turns=True)
    text = "\n".join(
        [
            f"threadlog demo in {home}",
            "",
            "threads (newest first, archived ones hidden):",
            table_text(render_table(listing)),
            "",
            render_thread(shown),
            "",
            f"the failed thread's turn: {failed.turns[0].status}"
            + (f" ({failed.turns[0].error.message})" if failed.turns[0].error else ""),
            f"archived: {archived.id} (see `threadlog list --archived --home {home}`)",
        ]
    )
    return {
        "home": str(home),
        "threads": [t.id for t in listing.data],
        "main": main.id,
        "fork": fork.id,
        "failed": failing.id,
        "archived": archived.id,
        "text": text,
    }
