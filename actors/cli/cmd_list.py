"""threadlog list: one page of threads, as app-server thread/list answers it.

As in Codex, a listing without --provider shows the threads of the home's configured
provider (model_provider in config.toml, openai when unset), and without --source the
interactive ones (cli and vscode); the command says how many threads those filters hide.
The index answers when it is complete, the rollout files otherwise.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadlog.actors.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_command,
    add_index_arguments,
    add_log_arguments,
    existing_index,
    fail,
    opened_logs,
    print_json,
    resolve_home,
    shared_index,
)
from threadlog.events.sources import SOURCE_KINDS
from threadlog.projections.index.listing import (
    MAX_LIMIT,
    ListError,
    ListParams,
    ListResult,
    hidden_threads,
    list_page,
)
from threadlog.store.codex_config import ConfigError, default_provider

if TYPE_CHECKING:  # rich draws the table only: --json never imports it
    from rich.table import Table


def page_limit(text: str) -> int:
    """``--limit``: a whole number from 1 to 100 (else a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, not {value}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``list`` subcommand."""
    parser = add_command(
        subparsers,
        "list",
        run,
        "list threads (thread/list)",
        description=__doc__,
        examples=[
            "threadlog list",
            "threadlog list --all-sources --all-providers --limit 50",
            "threadlog list --source exec --search 'fix the build'",
            "threadlog list --archived --sort-key updated_at",
        ],
    )
    parser.add_argument("--archived", action="store_true", help="list archived threads")
    parser.add_argument("--limit", type=page_limit, default=None, help="page size, 1 to 100 (25)")
    parser.add_argument("--cursor", default=None, help="the nextCursor of a previous page")
    parser.add_argument(
        "--sort-key",
        choices=("created_at", "updated_at"),
        default=None,
        help="order by (created_at)",
    )
    parser.add_argument(
        "--sort-direction", choices=("asc", "desc"), default=None, help="order (desc: newest first)"
    )
    providers = parser.add_mutually_exclusive_group()
    providers.add_argument(
        "--provider", action="append", default=None, help="only this model provider (repeatable)"
    )
    providers.add_argument(
        "--all-providers", action="store_true", help="every model provider, not only the default"
    )
    sources = parser.add_mutually_exclusive_group()
    sources.add_argument(
        "--source", action="append", default=None, choices=SOURCE_KINDS, help="only this source"
    )
    sources.add_argument(
        "--all-sources", action="store_true", help="every source (exec, sub-agents, ...), too"
    )
    parser.add_argument("--cwd", default=None, help="only threads started in this directory")
    parser.add_argument("--search", default=None, help="text in the thread's title or name")
    add_log_arguments(parser)
    add_index_arguments(parser)


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def render_table(
    result: ListResult, *, sort_key: str = "created_at", archived: bool = False
) -> Table:
    """A page of threads as a table; its time column is the one the page is sorted by."""
    from rich.table import Table

    column = "updated" if sort_key == "updated_at" else "created"
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column(column, no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column(
        "archived name or preview" if archived else "name or preview", overflow="ellipsis"
    )
    for thread in result.data:
        when = thread.updated_at if sort_key == "updated_at" else thread.created_at
        title = (thread.name or thread.preview).replace("\n", " ")
        source = thread.source if isinstance(thread.source, str) else "subAgent"
        table.add_row(_when(when), thread.id, source, title[:70])
    return table


def table_text(table: Table, width: int = 120) -> str:
    """A table as plain text (for output that is not a terminal's)."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(table)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue().rstrip("\n")


def run(args: argparse.Namespace) -> int:
    """List one page, then say what the default filters hid."""
    home = resolve_home(args, must_exist=args.log is None)
    try:
        provider = default_provider(home)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    providers = [] if args.all_providers else args.provider
    sources = list(SOURCE_KINDS) if args.all_sources else args.source
    params = ListParams(
        cursor=args.cursor,
        limit=args.limit,
        sort_key=args.sort_key,
        sort_direction=args.sort_direction,
        model_providers=providers,
        source_kinds=sources,
        archived=args.archived,
        cwd=args.cwd,
        search_term=args.search,
    )
    try:
        with opened_logs(args, home) as logs, _index(args, home) as index:
            result = list_page(logs, params, index=index, default_provider=provider)
            hidden = (
                hidden_threads(logs, params, index=index, default_provider=provider)
                if not args.json and args.cursor is None
                else Counter()
            )
    except ListError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ConnectionError as exc:
        return fail(str(exc))
    if args.json:
        print_json(result)
        return EXIT_OK
    from rich.console import Console

    # a pipe gets whole lines (rich would wrap at 80 columns when it cannot ask a terminal)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    if result.data:
        console.print(render_table(result, sort_key=args.sort_key or "created_at"))
    else:
        console.print("(no threads)")
    for line in hidden_notes(hidden, provider):
        console.print(line, style="dim")
    if result.next_cursor:
        console.print(f"next page: --cursor {result.next_cursor}")
    return EXIT_OK


def _index(args: argparse.Namespace, home: Path) -> Any:
    """The shared index ``--index`` names, else the home's (when it has one)."""
    shared = shared_index(args)
    return shared if shared is not None else existing_index(home)


def hidden_notes(hidden: Counter[str], provider: str) -> list[str]:
    """What the default filters hid, and the flag that shows it."""
    notes = []
    by_source = {k: n for k, n in hidden.items() if k.startswith("source:")}
    if by_source:
        parts = ", ".join(f"{n} {k.removeprefix('source:')}" for k, n in sorted(by_source.items()))
        notes.append(
            f"{sum(by_source.values())} threads hidden by source ({parts}); --all-sources to show"
        )
    if hidden.get("provider"):
        notes.append(
            f"{hidden['provider']} threads of other providers than {provider} hidden; "
            "--all-providers to show"
        )
    return notes
