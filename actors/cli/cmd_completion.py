"""threadlog completion SHELL: print the script that makes SHELL complete threadlog's
subcommands and options (argcomplete reads them from this very parser, so they never go
stale). Put it where the shell loads it, or evaluate it from the shell's startup file."""

from __future__ import annotations

import argparse
from typing import Any

from argcomplete.shell_integration import shellcode

from threadlog.actors.cli.common import EXIT_OK, add_command

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> None:
    """Add the ``completion`` subcommand."""
    parser = add_command(
        subparsers,
        "completion",
        run,
        "print the shell completion script (bash or zsh)",
        description=__doc__,
        json_flag=False,
        examples=[
            'eval "$(threadlog completion bash)"   # in ~/.bashrc',
            'eval "$(threadlog completion zsh)"    # in ~/.zshrc',
        ],
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> int:
    """Print the registration script for the chosen shell."""
    print(shellcode(["threadlog"], shell=args.shell))
    return EXIT_OK
