"""``threadlog backfill``, ``replay`` and ``doctor``: build, rebuild and check the index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import msgspec

from threadlog.actors.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_command,
    add_index_arguments,
    add_log_arguments,
    fail,
    opened_logs,
    print_json,
    resolve_home,
    shared_index,
)
from threadlog.actors.cli.extract_pool import WorkerLostError, extraction_pool
from threadlog.actors.cli.progress import ProgressReporter
from threadlog.projections.index.backfill import BackfillStats, run_backfill
from threadlog.projections.index.doctor import DoctorReport, doctor, what_is_left
from threadlog.projections.index.replay import replay
from threadlog.store.layout import STATE_DB_FILE
from threadlog.store.sqlite_index import SqliteIndex
from threadlog.store.statedb import SchemaTooNewError


def register(subparsers: Any) -> None:
    """Add ``backfill``, ``replay`` and ``doctor``."""
    backfill = add_command(
        subparsers,
        "backfill",
        run_backfill_command,
        "index the rollouts incrementally, under the lease",
        description="Index every rollout not indexed yet into threadlog.sqlite, in batches that\n"
        "commit with their checkpoint, so an interrupted run resumes where it stopped. Only\n"
        "one process backfills a home at a time (a lease in the database).",
        examples=[
            "threadlog backfill",
            "threadlog backfill --home ~/.codex --json",
            "threadlog backfill --index postgresql://threadlog@db:5432/threads",
        ],
    )
    add_index_arguments(backfill)
    add_log_arguments(backfill)
    replay_command = add_command(
        subparsers,
        "replay",
        run_replay_command,
        "rebuild the index from the logs alone and swap it in atomically",
        description="Build a new index from the rollout files alone, then swap it in one\n"
        "step: readers see the old index or the new one, never a mix.",
        examples=["threadlog replay", "threadlog replay --json"],
    )
    add_index_arguments(replay_command)
    add_log_arguments(replay_command)
    check = add_command(
        subparsers,
        "doctor",
        run_doctor_command,
        "compare the index with the logs",
        description="Check the index against the rollouts: rows of vanished or moved threads,\n"
        "unindexed or changed logs, torn tails, unreadable lines, broken fork bases. With\n"
        "--repair, fix what can be fixed in one run, then say what is left. Exit 0 when clean.",
        examples=["threadlog doctor", "threadlog doctor --repair"],
    )
    check.add_argument("--repair", action="store_true", help="fix what can be fixed")
    add_index_arguments(check)
    add_log_arguments(check)


def _summary(stats: BackfillStats) -> dict[str, Any]:
    return {
        "claimed": stats.claimed,
        "files": stats.files,
        "threads": stats.threads,
        "bad_lines": stats.bad_lines,
        "errors": stats.errors,
        "seconds": round(stats.seconds, 3),
    }


def _print_stats(stats: BackfillStats, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(_summary(stats))
        return
    if not stats.claimed:
        print(f"{verb}: not claimed (another worker holds the lease, or the index is complete)")
        return
    print(
        f"{verb}: {stats.threads} threads from {stats.files} files in {stats.seconds:.2f}s"
        f" ({stats.errors} files skipped, {stats.bad_lines} bad lines)"
    )
    for error in stats.error_files[:20]:
        print(f"  skipped {error.path}: {error.reason}")


def _open_index(args: argparse.Namespace, home: Path, schema: str | None = None) -> Any:
    """The index ``--index`` names (PostgreSQL), else the home's ``threadlog.sqlite``."""
    shared = shared_index(args, schema)
    return shared if shared is not None else SqliteIndex.for_home(home)


def run_backfill_command(args: argparse.Namespace) -> int:
    """Index what is not indexed yet."""
    home = resolve_home(args)
    reporter = ProgressReporter("backfill")
    try:
        with (
            _open_index(args, home) as index,
            opened_logs(args, home) as logs,
            extraction_pool(logs) as extract,
        ):
            stats = run_backfill(logs, index, progress=reporter, extract=extract)
    except (SchemaTooNewError, ConnectionError, WorkerLostError) as exc:  # a server down
        return fail(str(exc))
    finally:
        reporter.close()
    _print_stats(stats, args.json, "backfill")
    return EXIT_OK


def run_replay_command(args: argparse.Namespace) -> int:
    """Rebuild the index from scratch."""
    home = resolve_home(args)
    reporter = ProgressReporter("replay")
    try:
        if args.index is None:
            with opened_logs(args, home) as logs, extraction_pool(logs) as extract:
                stats = replay(
                    home, home / STATE_DB_FILE, progress=reporter, logs=logs, extract=extract
                )
        else:
            stats = _replay_shared(args, home, reporter)
    except (SchemaTooNewError, ConnectionError, WorkerLostError) as exc:  # a server down
        return fail(str(exc))
    finally:
        reporter.close()
    _print_stats(stats, args.json, "replay")
    return EXIT_OK


def _replay_shared(args: argparse.Namespace, home: Path, reporter: ProgressReporter) -> Any:
    """Replay into a scratch schema beside the live one, then swap it in atomically."""
    scratch_name = f"{args.index_schema}_replay"[:63]
    with _open_index(args, home) as live:
        scratch = _open_index(args, home, scratch_name)
        try:
            scratch.reset_backfill()
            with opened_logs(args, home) as logs, extraction_pool(logs) as extract:
                stats = run_backfill(logs, scratch, progress=reporter, extract=extract)
        except BaseException:
            scratch.close()
            raise
        live.replace_with(scratch)
    return stats


def _print_doctor(report: DoctorReport) -> None:
    print(
        f"{report.files} rollout files, {report.rows} index rows, backfill {report.backfill_status}"
    )
    sections = [
        ("rows whose rollout is gone", report.missing_files),
        ("rows pointing at a moved rollout", report.moved_files),
        ("files not in the index", report.unindexed_files),
        ("empty rollout files (a crash before their first line)", report.empty_files),
        ("rows out of date with their file", report.stale_rows),
        ("files with a torn last line", report.torn_tails),
        ("unreadable lines", [f"{i.path}:{i.line_no} ({i.reason})" for i in report.bad_lines]),
        ("forks whose history base cannot be read", report.broken_bases),
    ]
    for title, entries in sections:
        if entries:
            print(f"{title}: {len(entries)}")
            for entry in entries[:20]:
                print(f"  {entry}")
    for action in report.repaired:
        print(f"repaired: {action}")
    for note in what_is_left(report):
        print(f"left: {note}")
    print("clean" if report.clean else "NOT clean")


def run_doctor_command(args: argparse.Namespace) -> int:
    """Check (and with --repair, fix) the index; exit 0 only when clean."""
    home = resolve_home(args)
    try:
        with _open_index(args, home) as index, opened_logs(args, home) as logs:
            report = doctor(logs, index, fix=args.repair)
    except (SchemaTooNewError, ConnectionError) as exc:  # a server down: the index, NATS
        return fail(str(exc))
    if args.json:
        print_json({**msgspec.to_builtins(report), "clean": report.clean})
    else:
        _print_doctor(report)
    return EXIT_OK if report.clean else EXIT_FAILURE
