import subprocess
import sys
from pathlib import Path

from tests.support.homes import make_home
from threadlog.events import __version__


def test_version_flag_prints_the_package_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main", "--version"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"threadlog {__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "threadlog.actors.cli.main"], capture_output=True, text=True
    )
    assert proc.returncode == 2


def test_version_loads_no_subcommand_or_heavy_library() -> None:
    # start-up cost is what a command imports: --version needs none of the runtime's libraries
    probe = (
        "import sys; from threadlog.actors.cli.main import main; main(['--version']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('trio', 'structlog', 'rich', 'apsw', 'argcomplete') or '.cli.cmd_' in m))"
    )
    proc = _probe(probe)
    version, loaded = proc.stdout.splitlines()
    assert version == f"threadlog {__version__}"
    assert loaded == "[]"


def test_version_among_other_arguments_still_goes_through_the_parser() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "threadlog", "--log-format", "json", "--version"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"threadlog {__version__}"


def test_commands_that_talk_to_no_model_do_not_load_httpx(tmp_path: object) -> None:
    # the HTTP client is the model driver's: list, read and serve --driver scripted skip it
    _, loaded, _ = _libraries_loaded(["list", "--json", "--home", str(tmp_path)], {"httpx"})
    assert loaded == "[]"


def test_every_subcommand_is_mapped_to_the_module_that_registers_it() -> None:
    import argparse

    from threadlog.actors.cli.main import COMMANDS, SUBCOMMANDS, build_parser

    def names(parser: argparse.ArgumentParser) -> set[str]:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return set(actions[0].choices)

    assert names(build_parser()) == set(SUBCOMMANDS)
    for name, module in SUBCOMMANDS.items():
        assert module in COMMANDS
        assert name in names(build_parser(name))
        # the one-module parser holds that module's commands only
        assert all(SUBCOMMANDS[other] == module for other in names(build_parser(name)))


def test_a_listing_loads_neither_the_runtime_nor_the_log_renderer(tmp_path: object) -> None:
    libraries = {"trio", "structlog", "rich", "httpx", "trio_websocket"}
    _, loaded, _ = _libraries_loaded(["list", "--json", "--home", str(tmp_path)], libraries)
    assert loaded == "[]"


def test_chosen_command_skips_global_options_and_their_values() -> None:
    from threadlog.actors.cli.main import chosen_command

    assert chosen_command(["--home", "list", "read", "x"]) == "read"  # a home named "list"
    assert chosen_command(["--log-format", "json", "list"]) == "list"
    assert chosen_command(["--home=/h", "serve"]) == "serve"
    assert chosen_command(["frobnicate"]) is None
    assert chosen_command(["--help"]) is None


def test_a_replay_off_a_terminal_loads_neither_rich_nor_argcomplete(tmp_path: Path) -> None:
    # rich draws bars and tables; a command's log lines (structlog's console renderer)
    # and a replay's progress off a terminal need none of it, and a later import still works
    make_home(tmp_path, 3)
    code, loaded, proc = _libraries_loaded(
        ["replay", "--home", str(tmp_path)], {"rich", "argcomplete"}, then="import rich.console"
    )
    # argcomplete is for the shell's completions, asked for in _ARGCOMPLETE only
    assert (code, loaded) == ("0", "[]")
    assert "[info     ] backfill_complete" in proc.stderr  # the console renderer's lines


def _probe(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, which must succeed."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def _libraries_loaded(
    argv: list[str], libraries: set[str], then: str = "pass"
) -> tuple[str, str, subprocess.CompletedProcess[str]]:
    """Run the command line ``argv`` in a fresh interpreter, then ``then``: its exit code,
    and which of ``libraries`` it had imported, as printed there."""
    probe = (
        "import sys; from threadlog.actors.cli.main import main; "
        f"code = main({argv!r}); "
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(libraries)!r})); "
        f"{then}; print(code, loaded)"
    )
    proc = _probe(probe)
    code, _, loaded = proc.stdout.splitlines()[-1].partition(" ")
    return code, loaded, proc
