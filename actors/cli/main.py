"""The ``threadlog`` command line.

Each subcommand lives in its own module that exposes ``register(subparsers)``; this module
only wires them together and maps outcomes to exit codes: 0 success, 1 failure, 2 bad usage
(argparse's own convention for usage errors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import argcomplete

from threadlog.actors.cli import (
    cmd_completion,
    cmd_demo,
    cmd_index,
    cmd_list,
    cmd_read,
    cmd_serve,
    cmd_threads,
    cmd_turns,
)
from threadlog.actors.cli.common import (
    EXIT_USAGE,
    UsageError,
    add_global_arguments,
    configure_logging,
    fail,
)
from threadlog.events import __version__

COMMANDS = (
    cmd_demo,
    cmd_read,
    cmd_turns,
    cmd_list,
    cmd_threads,
    cmd_index,
    cmd_serve,
    cmd_completion,
)
"""Every subcommand module; each exposes ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="threadlog",
        description="Read, index, rebuild, fork and serve Codex rollout logs.",
    )
    parser.add_argument("--version", action="version", version=f"threadlog {__version__}")
    add_global_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threadlog`` console script."""
    parser = build_parser()
    # When the shell asks for completions (``_ARGCOMPLETE`` set), answer and exit here.
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
