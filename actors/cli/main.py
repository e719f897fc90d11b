"""The ``threadlog`` command line.

Each subcommand lives in its own module that exposes ``register(subparsers)``; this module
only wires them together and maps outcomes to exit codes: 0 success, 1 failure, 2 bad usage
(argparse's own convention for usage errors).

The subcommand modules (and through them trio, structlog, rich, apsw, httpx: most of a
command's start-up) are loaded only when the parser is built, so ``threadlog --version``
answers without them; and a command line that names its subcommand builds a parser of that
subcommand's module alone, so ``threadlog list`` never imports serve's server or the
model client. Help with no subcommand, an unknown one, and shell completion get them all.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from threadlog.events import __version__

COMMANDS = (
    "cmd_demo",
    "cmd_read",
    "cmd_turns",
    "cmd_list",
    "cmd_threads",
    "cmd_index",
    "cmd_serve",
    "cmd_transfer",
    "cmd_completion",
)
"""Every subcommand module of ``threadlog.actors.cli``; each exposes ``register(subparsers)``."""


SUBCOMMANDS = {
    "demo": "cmd_demo",
    "read": "cmd_read",
    "turns": "cmd_turns",
    "list": "cmd_list",
    "rename": "cmd_threads",
    "archive": "cmd_threads",
    "unarchive": "cmd_threads",
    "fork": "cmd_threads",
    "backfill": "cmd_index",
    "replay": "cmd_index",
    "doctor": "cmd_index",
    "serve": "cmd_serve",
    "import": "cmd_transfer",
    "export": "cmd_transfer",
    "completion": "cmd_completion",
}
"""Each subcommand's module (a test checks this against what the modules register)."""

_VALUED_GLOBALS = frozenset({"--home", "--log-format"})


def chosen_command(arguments: Sequence[str]) -> str | None:
    """The subcommand a command line names, if it names a known one before anything else."""
    skip = False
    for arg in arguments:
        if skip:
            skip = False
        elif arg in _VALUED_GLOBALS:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or only those of ``only``'s module."""
    from threadlog.actors.cli.common import add_global_arguments

    parser = argparse.ArgumentParser(
        prog="threadlog",
        description="Read, index, rebuild, fork and serve Codex rollout logs.",
    )
    parser.add_argument("--version", action="version", version=f"threadlog {__version__}")
    add_global_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (SUBCOMMANDS[only],):
        import_module(f"threadlog.actors.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threadlog`` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:  # nothing to parse, nothing else to import
        print(f"threadlog {__version__}")
        return 0
    from threadlog.actors.cli.common import EXIT_USAGE, UsageError, configure_logging, fail

    completing = "_ARGCOMPLETE" in os.environ
    parser = build_parser(None if completing else chosen_command(arguments))
    if completing:  # the shell asks for completions: answer and exit here
        import argcomplete  # only then: its import was a tenth of a command's start-up

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    configure_logging(getattr(args, "log_format", "console"))
    try:
        result: int = handler(args)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    return result


if __name__ == "__main__":
    sys.exit(main())
