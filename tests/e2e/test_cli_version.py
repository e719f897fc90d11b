import subprocess
import sys

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
