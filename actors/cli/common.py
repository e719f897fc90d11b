"""What every ``threadlog`` subcommand shares: ``--home``, ``--json``, logging, exit codes.

``--home`` defaults to ``$CODEX_HOME``, then ``~/.codex`` (as Codex does). Logs are
structured (structlog) and always go to stderr, so stdout stays clean data for ``--json``;
``--log-format json|console`` picks the renderer.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec
import structlog

from threadlog.store.layout import STATE_DB_FILE
from threadlog.store.sqlite_index import SqliteIndex

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2


class UsageError(Exception):
    """Bad input from the command line: reported on stderr with exit status 2."""


@contextlib.contextmanager
def existing_index(home: Path) -> Iterator[SqliteIndex | None]:
    """The home's index while it is used, when it has one (commands never create it)."""
    if not (home / STATE_DB_FILE).exists():
        yield None
        return
    index = SqliteIndex.for_home(home)
    try:
        yield index
    finally:
        index.close()


def default_home() -> Path:
    """``$CODEX_HOME`` if set, else ``~/.codex``."""
    env = os.environ.get("CODEX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".codex"


def add_common_arguments(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """Add ``--home``, ``--log-format`` and (for data commands) ``--json``."""
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="Codex home directory (default: $CODEX_HOME, then ~/.codex)",
    )
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="format of the structured logs written to stderr",
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: Any,
    name: str,
    handler: Handler,
    summary: str,
    *,
    description: str | None = None,
    thread_id: bool = False,
    json_flag: bool = True,
) -> argparse.ArgumentParser:
    """One subcommand: its parser, a ``THREAD_ID`` when it takes one, the common options."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=description or summary
    )
    if thread_id:
        parser.add_argument("thread_id", metavar="THREAD_ID", help="the thread's id")
    add_common_arguments(parser, json_flag=json_flag)
    parser.set_defaults(handler=handler)
    return parser


def resolve_home(args: argparse.Namespace) -> Path:
    """The home directory chosen by ``--home`` or the defaults, made absolute."""
    home: Path | None = getattr(args, "home", None)
    return (home or default_home()).expanduser().resolve()


def configure_logging(log_format: str) -> None:
    """Send structlog output to stderr in the chosen format."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def print_json(value: Any) -> None:
    """Write one JSON document (any msgspec-encodable value) and a newline to stdout."""
    sys.stdout.buffer.write(msgspec.json.encode(value) + b"\n")
    sys.stdout.flush()


def fail(message: str, status: int = EXIT_FAILURE) -> int:
    """Report an error on stderr and return the exit status to use."""
    print(f"threadlog: {message}", file=sys.stderr)
    return status
