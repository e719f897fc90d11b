"""``threadlog serve``: speak the app-server v2 protocol on stdin/stdout."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import trio

from threadlog.actors.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_command,
    add_index_arguments,
    add_log_arguments,
    close_log_store,
    fail,
    log_store,
    resolve_home,
    shared_index,
)
from threadlog.actors.drivers.protocol import Driver
from threadlog.actors.drivers.responses.config import ConfigError, load_model_config
from threadlog.actors.drivers.scripted import ScriptedDriver, ScriptError, load_scripts
from threadlog.actors.realtime.session import LoopbackTransport
from threadlog.actors.runtime.host_api import Runtime
from threadlog.actors.runtime.settings import ThreadSettings
from threadlog.actors.server.transcript import Transcript
from threadlog.actors.server.transports import (
    Listen,
    ListenError,
    parse_listen,
    serve_stdio,
    serve_unix,
    serve_ws,
)
from threadlog.store.appender import DURABILITY_MODES
from threadlog.store.ports import IndexStore, LogStore


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser = add_command(
        subparsers,
        "serve",
        run,
        "serve the app-server v2 JSON-RPC protocol over stdio",
        description=__doc__,
        json_flag=False,
        examples=[
            "threadlog serve --home ~/.codex",
            "threadlog serve --script-file replies.json --persist-extended",
            "OPENAI_API_KEY=... threadlog serve --driver responses --model gpt-5.2-codex",
            "threadlog serve --driver responses --base-url http://127.0.0.1:8000/v1",
        ],
    )
    parser.add_argument(
        "--driver",
        choices=("scripted", "responses"),
        default="scripted",
        help="what produces turns: scripted (no model; see actors/drivers/scripted.py) or "
        "responses (a model over the Responses API, configured as Codex's config.toml says)",
    )
    parser.add_argument(
        "--model", default=None, help="--driver responses: the model (over config.toml's)"
    )
    parser.add_argument(
        "--model-provider",
        default=None,
        metavar="NAME",
        help="--driver responses: the [model_providers.NAME] of config.toml to use",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="--driver responses: the provider's base URL (e.g. http://127.0.0.1:8000/v1)",
    )
    parser.add_argument(
        "--listen",
        default="stdio://",
        metavar="URL",
        help="stdio:// (default), unix://PATH (unix:// alone: $CODEX_HOME/app-server.sock) "
        "or ws://IP:PORT (port 0: any free port; the address is logged as event listening)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --listen ws:// bind an address other than loopback (logged as a warning)",
    )
    parser.add_argument(
        "--transcript",
        default=None,
        metavar="FILE",
        help="append every JSON-RPC message in and out to FILE, one JSON line each "
        "({conn, dir, line}); for debugging a client",
    )
    add_index_arguments(parser)
    add_log_arguments(parser)
    parser.add_argument(
        "--host-id",
        default=None,
        metavar="NAME",
        help="with --index postgresql://: this host's name in the thread leases "
        "(default hostname:pid); a thread is owned by one host at a time",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=30.0,
        help="with --index postgresql://: how long a thread lease lives unrenewed",
    )
    parser.add_argument("--script-file", default=None, help="JSON object of named scripts")
    parser.add_argument("--durability", choices=DURABILITY_MODES, default="fsync")
    parser.add_argument(
        "--persist-extended",
        action="store_true",
        help="threads persist extended history unless a request says otherwise",
    )
    parser.add_argument("--passivation-timeout", type=float, default=300.0)
    parser.add_argument(
        "--realtime-transport",
        choices=("none", "loopback"),
        default="none",
        help="what thread/realtime/* sessions talk to (loopback echoes; for tests and demos)",
    )
    parser.add_argument(
        "--dynamic-tool-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the client's answer to item/tool/call before failing the call",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until stdin closes."""
    home = resolve_home(args, must_exist=False)
    scripts = {}
    if args.script_file:
        try:
            scripts = load_scripts(Path(args.script_file))
        except (ScriptError, OSError) as exc:
            return fail(str(exc), EXIT_USAGE)
    try:
        driver, defaults = _driver(home, args, scripts)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        listen = parse_listen(args.listen, home, allow_remote=args.allow_remote)
    except ListenError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        index: IndexStore | None = shared_index(args)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ConnectionError as exc:
        return fail(str(exc))
    try:
        logs = log_store(args, home, args.durability)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ConnectionError as exc:
        return fail(str(exc))
    try:
        transcript = Transcript(Path(args.transcript)) if args.transcript else None
    except OSError as exc:
        close_log_store(logs)
        return fail(f"--transcript {args.transcript}: {exc.strerror}", EXIT_USAGE)
    try:
        trio.run(_serve, home, args, driver, defaults, listen, transcript, index, logs)
    except ListenError as exc:
        return fail(str(exc))
    finally:
        if transcript is not None:
            transcript.close()
        close_log_store(logs)
    return EXIT_OK


def _driver(
    home: Path, args: argparse.Namespace, scripts: dict[str, Any]
) -> tuple[Driver, ThreadSettings]:
    """The driver the flags ask for and the thread settings it implies."""
    if args.driver == "scripted":
        return ScriptedDriver(scripts), ThreadSettings(cwd=os.getcwd())
    # Imported here: httpx is loaded only when serve talks to a model.
    from threadlog.actors.drivers.responses.driver import ResponsesDriver

    config = load_model_config(
        home, model=args.model, provider=args.model_provider, base_url=args.base_url
    )
    settings = ThreadSettings(
        cwd=os.getcwd(),
        model=config.model,
        model_provider=config.provider.name,
        effort=config.reasoning_effort,
        summary=config.reasoning_summary,
    )
    return ResponsesDriver(config), settings


async def _serve(
    home: Path,
    args: argparse.Namespace,
    driver: Driver,
    defaults: ThreadSettings,
    listen: Listen,
    transcript: Transcript | None,
    index: IndexStore | None,
    logs: LogStore,
) -> None:
    runtime = Runtime(
        home,
        driver=driver,
        index_store=index,
        logs=logs,
        # a shared index also says which host owns which thread
        leases=getattr(index, "leases", None),
        host_id=args.host_id,
        lease_ms=int(args.lease_seconds * 1000),
        durability=args.durability,
        passivation_timeout=args.passivation_timeout,
        dynamic_tool_timeout=args.dynamic_tool_timeout,
        realtime_transport=LoopbackTransport() if args.realtime_transport == "loopback" else None,
        persistence="extended" if args.persist_extended else "limited",
        defaults=defaults,
        defer_index=True,  # initialize is answered before any index work
    )
    async with runtime:
        if listen.kind == "stdio":
            await serve_stdio(runtime, transcript=transcript)
        elif listen.kind == "unix":
            await serve_unix(runtime, Path(listen.path), transcript=transcript)
        else:
            await serve_ws(runtime, listen.host, listen.port, transcript=transcript)
