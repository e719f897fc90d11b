"""Packaging: one import name, `threadlog`, in a wheel and in the editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.corpus import REPO_ROOT

LAYERS = ("events", "store", "projections", "actors")


def test_wheel_holds_only_the_threadlog_package(tmp_path: Path) -> None:
    # Build from a copy: pip builds in the source tree and would leave build/ behind.
    source = tmp_path / "src"
    shutil.copytree(
        REPO_ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".*"),
    )
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("threadlog-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"threadlog"}
    for layer in LAYERS:
        assert f"threadlog/{layer}/__init__.py" in names
    assert "threadlog/py.typed" in names
    assert "threadlog/testing/__init__.py" in names


def test_installed_names_outside_the_checkout(tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u, threadlog, threadlog.testing;"
        "from threadlog import Runtime;"
        f"print([n for n in {LAYERS!r} if u.find_spec(n) is not None])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]"
