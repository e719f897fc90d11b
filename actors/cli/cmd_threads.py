"""``threadlog rename``, ``archive``, ``unarchive`` and ``fork``: one thread operation each,
through the same runtime ``serve`` uses (so logs, name index and database stay in step)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from threadlog.actors.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    fail,
    print_json,
    resolve_home,
)
from threadlog.actors.cli.render import render_thread
from threadlog.actors.drivers.scripted import ScriptedDriver
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.events.errors import (
    InvalidThreadIdError,
    ThreadError,
    ThreadNotFoundError,
    ThreadNotLoadedError,
)
from threadlog.events.views import Thread

T = TypeVar("T")
# Conditions the user can fix by giving another id or argument: a usage error (exit 2).
_USAGE_ERRORS = (InvalidThreadIdError, ThreadNotFoundError, ThreadNotLoadedError)


def register(subparsers: Any) -> None:
    """Add ``rename``, ``archive``, ``unarchive`` and ``fork``."""
    rename = add_command(subparsers, "rename", run_rename, "name a thread", thread_id=True)
    rename.add_argument("name", metavar="NAME", help="the new name")
    add_command(
        subparsers, "archive", run_archive, "move a thread to archived_sessions/", thread_id=True
    )
    add_command(
        subparsers, "unarchive", run_unarchive, "bring an archived thread back", thread_id=True
    )
    fork = add_command(subparsers, "fork", run_fork, "copy a thread into a new one", thread_id=True)
    fork.add_argument(
        "--before-turn",
        type=int,
        default=None,
        metavar="N",
        help="copy only what came before the N-th user turn (0-based)",
    )


def _with_runtime(args: argparse.Namespace, work: Callable[[Runtime], Awaitable[T]]) -> T:
    home = resolve_home(args)

    async def main() -> T:
        runtime = Runtime(
            home,
            driver=ScriptedDriver(),
            defaults=ThreadSettings(cwd=os.getcwd()),
            passivation_timeout=0,
        )
        async with runtime:
            return await work(runtime)

    return trio.run(main)


def _failure(exc: ThreadError) -> int:
    status = EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_FAILURE
    return fail(exc.message, status)


def _show(thread: Thread, as_json: bool, key: str = "thread") -> None:
    if as_json:
        print_json({key: thread})
    else:
        print(render_thread(thread))


def run_rename(args: argparse.Namespace) -> int:
    """Rename a thread, loaded or not."""
    try:
        _with_runtime(args, lambda rt: rt.rename_thread(args.thread_id, args.name))
    except ThreadError as exc:
        return _failure(exc)
    if args.json:
        print_json({})
    else:
        print(f"renamed {args.thread_id} to {args.name.strip()!r}")
    return EXIT_OK


def run_archive(args: argparse.Namespace) -> int:
    """Archive a thread."""
    try:
        _with_runtime(args, lambda rt: rt.archive_thread(args.thread_id))
    except ThreadError as exc:
        return _failure(exc)
    if args.json:
        print_json({})
    else:
        print(f"archived {args.thread_id}")
    return EXIT_OK


def run_unarchive(args: argparse.Namespace) -> int:
    """Unarchive a thread and show it."""
    try:
        thread = _with_runtime(args, lambda rt: rt.unarchive_thread(args.thread_id))
    except ThreadError as exc:
        return _failure(exc)
    _show(thread, args.json)
    return EXIT_OK


def run_fork(args: argparse.Namespace) -> int:
    """Fork a thread and show the fork with its turns."""
    if args.before_turn is not None and args.before_turn < 0:
        return fail("--before-turn must be >= 0", EXIT_USAGE)
    try:
        thread = _with_runtime(
            args, lambda rt: rt.fork_thread(args.thread_id, before_user_turn=args.before_turn)
        )
    except ThreadError as exc:
        return _failure(exc)
    _show(thread, args.json)
    return EXIT_OK
