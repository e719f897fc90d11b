"""``threadlog export`` and ``import``: move threads between a file home and a cluster."""

from __future__ import annotations

import argparse
from typing import Any

from threadlog.actors.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_command,
    add_index_arguments,
    fail,
    opened_logs,
    print_json,
    resolve_home,
    shared_index,
)
from threadlog.actors.cli.progress import ProgressReporter
from threadlog.store.files import FileLogStore
from threadlog.store.transfer import TransferStats, copy_threads


def register(subparsers: Any) -> None:
    """Add ``export`` and ``import``."""
    for name, handler, summary, description in (
        (
            "import",
            run_import,
            "copy a home's threads into a JetStream log (and index them)",
            "Copy every thread of the home (live and archived, with its name) into the\n"
            "JetStream stream --log names, byte for byte; with --index, index them there.\n"
            "Run again after an interruption: what was copied is kept, the rest follows.",
        ),
        (
            "export",
            run_export,
            "copy a JetStream log's threads into a home's rollout files",
            "Copy every thread of the JetStream stream --log names into the home's rollout\n"
            "files (sessions/ and archived_sessions/, as Codex lays them out), byte for byte.",
        ),
    ):
        parser = add_command(
            subparsers,
            name,
            handler,
            summary,
            description=description,
            examples=[f"threadlog {name} --home ~/.codex --log nats://nats:4222?stream=threads"],
        )
        parser.add_argument(
            "--log",
            required=True,
            metavar="URL",
            help="the JetStream log: nats://HOST:PORT[,HOST:PORT]?stream=NAME"
            "&monitor=http://HOST:8222 (or &replicas=3)",
        )
        if name == "import":
            add_index_arguments(
                parser, help="postgresql://USER@HOST:PORT/DB: index what was imported there"
            )


def _report(stats: TransferStats, as_json: bool, verb: str) -> int:
    if as_json:
        print_json(stats)
    else:
        print(
            f"{verb}: {stats.copied} threads copied, {stats.resumed} completed, "
            f"{stats.already} already there, {len(stats.skipped)} skipped "
            f"({stats.bytes} bytes, {stats.names} names)"
        )
        if stats.torn_bytes:
            print(f"  left behind: {stats.torn_bytes} bytes of torn last lines")
        for skip in stats.skipped[:20]:
            print(f"  skipped {skip.thread_id}: {skip.reason}")
    return EXIT_OK if not stats.skipped else EXIT_FAILURE


def _copy(args: argparse.Namespace, *, into_cluster: bool) -> tuple[TransferStats, Any]:
    home = resolve_home(args, must_exist=into_cluster)
    reporter = ProgressReporter("import" if into_cluster else "export")
    try:
        with opened_logs(args, home, "fsync") as cluster:
            files = FileLogStore(home)
            source, target = (files, cluster) if into_cluster else (cluster, files)
            stats = copy_threads(source, target, progress=reporter)
            indexed = None
            if into_cluster and getattr(args, "index", None):
                from threadlog.projections.index.backfill import run_backfill

                with shared_index(args) as index:
                    index.reset_backfill()  # what was imported is indexed now, all of it
                    indexed = run_backfill(cluster, index)
    finally:
        reporter.close()
    return stats, indexed


def run_import(args: argparse.Namespace) -> int:
    """Copy a home into the cluster."""
    return _run(args, into_cluster=True)


def run_export(args: argparse.Namespace) -> int:
    """Copy the cluster into a home."""
    return _run(args, into_cluster=False)


def _run(args: argparse.Namespace, *, into_cluster: bool) -> int:
    verb = "import" if into_cluster else "export"
    try:
        stats, indexed = _copy(args, into_cluster=into_cluster)
    except ConnectionError as exc:
        return fail(str(exc))
    status = _report(stats, args.json, verb)
    if indexed is not None and not args.json:
        print(f"indexed: {indexed.threads} threads")
    return status
