"""``threadlog turns THREAD_ID``: one page of a thread's turns (``thread/turns/list``).

Newest first, 25 a page, each turn summarised by its first user message and last answer
(``--items full`` for every item). ``--cursor`` takes a page's ``nextCursor`` (or its
``backwardsCursor`` with the other ``--sort-direction``). With the home's index, a page
reads only its turns' bytes.
"""

from __future__ import annotations

import argparse
from typing import Any

from threadlog.actors.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    existing_index,
    fail,
    print_json,
    resolve_home,
    resolve_thread_id,
)
from threadlog.actors.cli.render import render_turn
from threadlog.events.errors import ThreadNotFoundError
from threadlog.projections.index.turns_list import TurnsListParams, list_turns
from threadlog.projections.turns_page import TurnsPage
from threadlog.store.files import FileLogStore


def register(subparsers: Any) -> None:
    """Add the ``turns`` subcommand."""
    parser = add_command(
        subparsers,
        "turns",
        run,
        "list a thread's turns a page at a time (thread/turns/list)",
        description=__doc__,
        thread_id=True,
        examples=[
            "threadlog turns 01a2359 --limit 5",
            "threadlog turns 01a2359 --items full --json",
            "threadlog turns 01a2359 --cursor '<nextCursor of the last page>'",
        ],
    )
    parser.add_argument("--cursor", default=None, help="a cursor from a previous page")
    parser.add_argument("--limit", type=int, default=None, help="page size (default 25, max 100)")
    parser.add_argument("--sort-direction", choices=("asc", "desc"), default=None)
    parser.add_argument(
        "--items", choices=("summary", "full", "notLoaded"), default=None, help="item view"
    )


def render_page(page: TurnsPage) -> str:
    """A page of turns as text, with the cursors to go on."""
    lines = [render_turn(turn) for turn in page.data] or ["(no turns)"]
    if page.next_cursor:
        lines.append(f"\nnext page: --cursor '{page.next_cursor}'")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Serve one page from the home's index when it has one, else from the files."""
    home = resolve_home(args)
    params = TurnsListParams(
        thread_id=resolve_thread_id(FileLogStore(home), args.thread_id),
        cursor=args.cursor,
        limit=args.limit,
        sort_direction=args.sort_direction,
        items_view=args.items,
    )
    try:
        with existing_index(home) as index:
            page = list_turns(FileLogStore(home), params, index=index)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ThreadNotFoundError as exc:
        return fail(f"{exc} (looked in {home})", EXIT_USAGE)
    if args.json:
        print_json(page)
    else:
        print(render_page(page))
    return EXIT_OK
