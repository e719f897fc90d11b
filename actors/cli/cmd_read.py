"""``threadlog read THREAD_ID``: print one thread as app-server ``thread/read`` answers it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from threadlog.actors.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_log_arguments,
    fail,
    opened_logs,
    print_json,
    resolve_home,
    resolve_thread_id,
)
from threadlog.actors.cli.render import render_thread
from threadlog.events.errors import CorruptRolloutError, ThreadNotFoundError
from threadlog.projections.index.lineage import Lineage
from threadlog.projections.index.read_thread import read_thread, thread_read_state
from threadlog.store.ports import LogStore
from threadlog.store.reader import ReadReport


def register(subparsers: Any) -> None:
    """Add the ``read`` subcommand."""
    parser = add_command(
        subparsers,
        "read",
        run,
        "print one thread (thread/read)",
        description=__doc__,
        thread_id=True,
        examples=[
            "threadlog read 01a23595-0a44-7751-bd2b-ceb90b05bfb4",
            "threadlog read 01a2359 --turns",
            "threadlog read 01a2359 --turns --json | jq .thread.turns[0]",
        ],
    )
    parser.add_argument("--turns", action="store_true", help="include the turns and their items")
    add_log_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Read the thread from its log (no database needed)."""
    home = resolve_home(args, must_exist=getattr(args, "log", None) is None)
    try:
        with opened_logs(args, home) as logs:
            return _read(args, home, logs)
    except ConnectionError as exc:
        return fail(str(exc))


def _read(args: argparse.Namespace, home: Path, logs: LogStore) -> int:
    lineage = Lineage([])
    report = ReadReport()
    tid = resolve_thread_id(logs, args.thread_id)
    try:
        thread = read_thread(logs, tid, include_turns=args.turns, lineage=lineage, report=report)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ThreadNotFoundError as exc:
        return fail(f"{exc} (looked in {home})", EXIT_USAGE)
    except CorruptRolloutError as exc:
        return fail(str(exc))
    if lineage.problem is not None:
        print(
            f"warning: {lineage.problem}; showing the history that could be read", file=sys.stderr
        )
    if report.issues:
        first = report.issues[0]
        print(
            f"warning: skipped {len(report.issues)} corrupt line(s); first at "
            f"{first.path}:{first.line_no} ({first.reason})",
            file=sys.stderr,
        )
    if report.torn_tail is not None:
        print(
            f"warning: ignored an incomplete last line of {report.torn_tail.path}", file=sys.stderr
        )
    if args.json:
        print_json({"thread": thread, "readState": thread_read_state(logs, thread.id)})
    else:
        print(render_thread(thread))
    return EXIT_OK
