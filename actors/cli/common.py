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
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import msgspec

from threadlog.events.ids import is_thread_id
from threadlog.store.layout import STATE_DB_FILE
from threadlog.store.lazylog import configure_with
from threadlog.store.ports import LogStore
from threadlog.store.sqlite_index import SqliteIndex

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2


class UsageError(Exception):
    """Bad input from the command line: reported on stderr with exit status 2."""


class IndexUnreachableError(ConnectionError):
    """``--index`` names a server this command cannot use (reported, exit status 1)."""


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


def add_index_arguments(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--index URL`` and ``--index-schema NAME``: where the thread index lives."""
    parser.add_argument(
        "--index",
        default=None,
        metavar="URL",
        help=help
        or "where the thread index lives: threadlog.sqlite in the home (default), or "
        "postgresql://USER@HOST:PORT/DB to share one index among hosts",
    )
    parser.add_argument(
        "--index-schema",
        default="threadlog",
        metavar="NAME",
        help="with --index postgresql://: the schema that holds threadlog's tables",
    )


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """``--log URL``: where the threads' logs live."""
    parser.add_argument(
        "--log",
        default=None,
        metavar="URL",
        help="where the thread logs live: the home's rollout files (default), or "
        "nats://HOST:PORT[,HOST:PORT]?stream=NAME&monitor=http://HOST:8222 for a JetStream "
        "stream shared among hosts",
    )


def log_store(args: argparse.Namespace, home: Path, durability: str = "fsync") -> LogStore:
    """The log store ``--log`` names (the home's rollout files when none).

    ``UsageError`` for a bad URL, or a stream that would not keep ``fsync``'s promise;
    ``ConnectionError`` when its servers cannot be used."""
    url = getattr(args, "log", None)
    if url is None:
        from threadlog.store.files import FileLogStore

        return FileLogStore(home)
    if not url.startswith("nats://"):
        raise UsageError(f"--log {url}: give a nats:// URL (or leave it out)")
    try:
        from threadlog.store.jetstream_log import JetStreamLogStore
        from threadlog.store.jetstream_names import parse_target
        from threadlog.store.jetstream_stream import DurabilityError
    except ImportError as exc:
        raise UsageError(
            f"--log nats:// needs the cluster extra ({exc.name} is missing): "
            "pip install 'threadlog[cluster]'"
        ) from None
    try:
        target = parse_target(url)
    except ValueError as exc:
        raise UsageError(f"--log: {exc}") from None
    try:
        return JetStreamLogStore(target, durability=durability)  # type: ignore[arg-type]
    except (DurabilityError, ValueError) as exc:  # or a stream that holds other subjects
        raise UsageError(f"--log {url}: {exc}") from None
    except ConnectionError:  # no NATS server answers: its message says where it looked
        raise
    except OSError as exc:  # the server refused (JetStream off, no permission, ...)
        raise ConnectionError(f"cannot use the log at {url}: {exc}") from None


def close_log_store(logs: LogStore) -> None:
    """Close a store that holds a connection (JetStream's); files need nothing."""
    close = getattr(logs, "close", None)
    if close is not None:
        close()


@contextlib.contextmanager
def opened_logs(
    args: argparse.Namespace, home: Path, durability: str = "none"
) -> Iterator[LogStore]:
    """``log_store`` while it is used (readers need no durability check: ``none``)."""
    logs = log_store(args, home, durability)
    try:
        yield logs
    finally:
        close_log_store(logs)


def shared_index(args: argparse.Namespace, schema: str | None = None) -> Any:
    """The PostgreSQL index ``--index`` names, or None for the home's SQLite file.

    ``UsageError`` for a URL that is not postgresql://, or a bad schema name;
    ``IndexUnreachableError`` when its server cannot be used."""
    if getattr(args, "index", None) is None:
        return None
    url: str = args.index
    if not url.startswith(("postgresql://", "postgres://")):
        raise UsageError(f"--index {url}: give a postgresql:// URL (or leave it out)")
    try:
        from threadlog.store.pg_index import PostgresIndex  # psycopg only for this
    except ImportError as exc:
        raise UsageError(
            f"--index postgresql:// needs the cluster extra ({exc.name} is missing): "
            "pip install 'threadlog[cluster]'"
        ) from None

    try:
        return PostgresIndex(url, schema=schema or args.index_schema)
    except ValueError as exc:
        raise UsageError(f"--index-schema: {exc}") from None
    except Exception as exc:  # the server is down, the credentials wrong: say so, plainly
        raise IndexUnreachableError(f"cannot open the index at {url}: {exc}") from None


def default_home() -> Path:
    """``$CODEX_HOME`` if set, else ``~/.codex``."""
    env = os.environ.get("CODEX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".codex"


HOME_HELP: Final = "Codex home directory (default: $CODEX_HOME, then ~/.codex)"
LOG_FORMAT_HELP: Final = "format of the structured logs written to stderr"


def add_global_arguments(parser: argparse.ArgumentParser) -> None:
    """``--home`` and ``--log-format`` before the subcommand (``threadlog --home H list``)."""
    parser.add_argument("--home", type=Path, default=None, help=HOME_HELP)
    parser.add_argument(
        "--log-format", choices=("console", "json"), default="console", help=LOG_FORMAT_HELP
    )


def add_common_arguments(
    parser: argparse.ArgumentParser, *, json_flag: bool = True, home_help: str = HOME_HELP
) -> None:
    """Add ``--home``, ``--log-format`` and (for data commands) ``--json``.

    Given after the subcommand they win; absent there, the ones before it stand
    (``SUPPRESS`` leaves the top-level value in place).
    """
    parser.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=home_help)
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default=argparse.SUPPRESS,
        help=LOG_FORMAT_HELP,
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
    examples: Sequence[str] = (),
    home_help: str = HOME_HELP,
) -> argparse.ArgumentParser:
    """One subcommand: its parser, a ``THREAD_ID`` when it takes one, the common options.

    ``description`` is shown as plain text (docstring markup removed); ``examples`` are
    listed after the options.
    """
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=plain_text(description or summary),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if thread_id:
        parser.add_argument(
            "thread_id",
            metavar="THREAD_ID",
            help="the thread's id, or a unique prefix of it (as git takes commits)",
        )
    add_common_arguments(parser, json_flag=json_flag, home_help=home_help)
    parser.set_defaults(handler=handler)
    return parser


def plain_text(doc: str) -> str:
    """A docstring as help text: double-backtick markup removed."""
    return doc.replace("``", "")


def resolve_home(args: argparse.Namespace, *, must_exist: bool = True) -> Path:
    """The home directory chosen by ``--home`` or the defaults, made absolute.

    ``must_exist``: a missing or unusable home is a usage error (exit 2), the same in every
    command that reads one.
    """
    home: Path | None = getattr(args, "home", None)
    resolved = (home or default_home()).expanduser().resolve()
    if must_exist:
        if not resolved.exists():
            raise UsageError(f"no such Codex home: {resolved} (give --home DIR or set CODEX_HOME)")
        if not resolved.is_dir() or not os.access(resolved, os.R_OK | os.X_OK):
            raise UsageError(f"not a usable Codex home (not a readable directory): {resolved}")
    return resolved


_ID_PREFIX: Final = re.compile(r"[0-9a-fA-F-]{4,36}")


def resolve_thread_id(logs: LogStore, given: str) -> str:
    """A full thread id from an id or a unique prefix of one (live or archived threads).

    Only hex digits and dashes are looked up; an ambiguous prefix is a usage error that
    names the candidates. A full id is returned as given, checked later where it is used.
    """
    if is_thread_id(given) or not _ID_PREFIX.fullmatch(given):
        return given
    prefix = given.lower()
    found = sorted(
        {
            ref.thread_id
            for archived in (False, True)
            for ref in logs.logs(archived=archived)
            if ref.thread_id.startswith(prefix)
        }
    )
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise UsageError(f"thread id prefix {given!r} is ambiguous: {len(found)} threads ({shown})")
    if not found:
        raise UsageError(f"no thread id starts with {given!r}")
    return found[0]


def configure_logging(log_format: str) -> None:
    """Send structlog output to stderr in the chosen format (set up at the first log line:
    a command that logs nothing never imports structlog)."""
    configure_with(lambda: _configure_structlog(log_format))


def _import_structlog_without_rich() -> Any:
    """structlog, imported without rich when nothing has imported rich yet.

    structlog uses rich, when it is installed, only for its default exception formatter
    and ``structlog.tracebacks``; we render exceptions with ``plain_traceback``, and rich's
    import was half of structlog's (50-90 ms of a command's first log line). So rich is
    marked absent while structlog loads (its optional import sees an ImportError) and
    present again after; the first log line runs under lazylog's lock, and nothing imports
    rich concurrently with it.
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        import structlog

        return structlog
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog
    finally:
        del sys.modules["rich"]
    return structlog


def _configure_structlog(log_format: str) -> None:
    structlog = _import_structlog_without_rich()

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
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
