"""``threadlog list``: one page of threads, as app-server ``thread/list`` answers it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from threadlog.actors.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    existing_index,
    fail,
    print_json,
    resolve_home,
)
from threadlog.events.sources import SOURCE_KINDS
from threadlog.projections.index.listing import ListError, ListParams, ListResult, list_page
from threadlog.store.files import FileLogStore


def register(subparsers: Any) -> None:
    """Add the ``list`` subcommand."""
    parser = add_command(subparsers, "list", run, "list threads (thread/list)", description=__doc__)
    parser.add_argument("--archived", action="store_true", help="list archived threads")
    parser.add_argument("--limit", type=int, default=None, help="page size (default 25, max 100)")
    parser.add_argument("--cursor", default=None, help="the nextCursor of a previous page")
    parser.add_argument("--sort-key", choices=("created_at", "updated_at"), default=None)
    parser.add_argument("--sort-direction", choices=("asc", "desc"), default=None)
    parser.add_argument("--provider", action="append", default=None, help="model provider")
    parser.add_argument("--source", action="append", default=None, choices=SOURCE_KINDS)
    parser.add_argument("--cwd", default=None, help="only threads started in this directory")
    parser.add_argument("--search", default=None, help="substring of the thread title")


def render_table(result: ListResult) -> str:
    """A page of threads as a table."""
    lines = [f"{'updated':19}  {'id':36}  {'source':10}  preview"]
    for thread in result.data:
        when = datetime.fromtimestamp(thread.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        title = thread.name or thread.preview
        title = title.replace("\n", " ")
        source = thread.source if isinstance(thread.source, str) else "subAgent"
        lines.append(f"{when:19}  {thread.id:36}  {source:10}  {title[:70]}")
    if not result.data:
        lines.append("(no threads)")
    if result.next_cursor:
        lines.append(f"next page: --cursor {result.next_cursor}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """List one page; the index answers when it is complete, the files otherwise."""
    home = resolve_home(args)
    params = ListParams(
        cursor=args.cursor,
        limit=args.limit,
        sort_key=args.sort_key,
        sort_direction=args.sort_direction,
        model_providers=args.provider,
        source_kinds=args.source,
        archived=args.archived,
        cwd=args.cwd,
        search_term=args.search,
    )
    try:
        with existing_index(home) as index:
            result = list_page(FileLogStore(home), params, index=index)
    except ListError as exc:
        return fail(str(exc), EXIT_USAGE)
    if args.json:
        print_json(result)
    else:
        print(render_table(result))
    return EXIT_OK
