"""``threadlog rename``, ``archive``, ``unarchive`` and ``fork``: one thread operation each,
through the same runtime ``serve`` uses (so logs, name index and database stay in step)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from threadlog.actors.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_command,
    fail,
    print_json,
    resolve_home,
    resolve_thread_id,
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
from threadlog.events.thread_items import UserMessageItem
from threadlog.events.views import Thread, Turn
from threadlog.projections.index.read_thread import read_thread
from threadlog.store.files import FileLogStore

T = TypeVar("T")
# Conditions the user can fix by giving another id or argument: a usage error (exit 2).
_USAGE_ERRORS = (InvalidThreadIdError, ThreadNotFoundError, ThreadNotLoadedError)


def register(subparsers: Any) -> None:
    """Add ``rename``, ``archive``, ``unarchive`` and ``fork``."""
    rename = add_command(
        subparsers,
        "rename",
        run_rename,
        "name a thread",
        thread_id=True,
        examples=["threadlog rename 01a2 'Fix the flaky test'"],
    )
    rename.add_argument("name", metavar="NAME", help="the new name (surrounding spaces dropped)")
    add_command(
        subparsers,
        "archive",
        run_archive,
        "move a thread to archived_sessions/",
        thread_id=True,
        examples=["threadlog archive 01a23595-0a44"],
    )
    add_command(
        subparsers,
        "unarchive",
        run_unarchive,
        "bring an archived thread back",
        thread_id=True,
        examples=["threadlog unarchive 01a23595-0a44"],
    )
    fork = add_command(
        subparsers,
        "fork",
        run_fork,
        "copy a thread into a new one (in the source's working directory)",
        thread_id=True,
        examples=["threadlog fork 01a2", "threadlog fork 01a2 --before-turn 3 --json"],
    )
    fork.add_argument(
        "--before-turn",
        type=int,
        default=None,
        metavar="N",
        help="copy only the turns before turn N, numbered as `threadlog read` shows them "
        "(1 is the first)",
    )


def _target(args: argparse.Namespace, *, archived: bool | None) -> tuple[Path, str]:
    """The home and the full id of the thread named on the command line, checked.

    ``archived``: where the thread must be (None: anywhere). A thread in the other place,
    or in none, is a usage error that says which.
    """
    home = resolve_home(args)
    logs = FileLogStore(home)
    tid = resolve_thread_id(logs, args.thread_id)
    try:
        live, stored = logs.locate(tid, archived=False), logs.locate(tid, archived=True)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if live is None and stored is None:
        raise UsageError(f"no thread {tid} in {home}")
    if archived is False and live is None:
        raise UsageError(f"thread {tid} is archived (unarchive it first)")
    if archived is True and stored is None:
        raise UsageError(f"thread {tid} is not archived")
    return home, tid


def _with_runtime(home: Path, work: Callable[[Runtime], Awaitable[T]]) -> T:
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
    name = args.name.strip()
    if not name:
        raise UsageError("a thread name must not be empty")
    home, tid = _target(args, archived=False)
    try:
        _with_runtime(home, lambda rt: rt.rename_thread(tid, name))
    except ThreadError as exc:
        return _failure(exc)
    if args.json:
        print_json({})
    else:
        print(f"renamed {tid} to {name!r}")
    return EXIT_OK


def run_archive(args: argparse.Namespace) -> int:
    """Archive a thread."""
    home, tid = _target(args, archived=False)
    try:
        _with_runtime(home, lambda rt: rt.archive_thread(tid))
    except ThreadError as exc:
        return _failure(exc)
    if args.json:
        print_json({})
    else:
        print(f"archived {tid}")
    return EXIT_OK


def run_unarchive(args: argparse.Namespace) -> int:
    """Unarchive a thread and show it."""
    home, tid = _target(args, archived=True)
    try:
        thread = _with_runtime(home, lambda rt: rt.unarchive_thread(tid))
    except ThreadError as exc:
        return _failure(exc)
    _show(thread, args.json)
    return EXIT_OK


def user_turn_before(turns: list[Turn], number: int) -> int:
    """The fork cut for "before turn ``number``" (1-based, as ``read`` numbers turns):
    how many of the turns before it hold a user message (the runtime cuts by user turns)."""
    if not 1 <= number <= len(turns):
        raise UsageError(
            f"--before-turn {number}: the thread has {len(turns)} turns (give 1 to {len(turns)})"
        )
    return sum(
        1 for turn in turns[: number - 1] if any(isinstance(i, UserMessageItem) for i in turn.items)
    )


def run_fork(args: argparse.Namespace) -> int:
    """Fork a thread and show the fork with its turns."""
    home, tid = _target(args, archived=False)
    cut = None
    if args.before_turn is not None:
        source = read_thread(FileLogStore(home), tid, include_turns=True)
        cut = user_turn_before(source.turns, args.before_turn)
    try:
        thread = _with_runtime(home, lambda rt: rt.fork_thread(tid, before_user_turn=cut))
    except ThreadError as exc:
        return _failure(exc)
    _show(thread, args.json)
    return EXIT_OK
