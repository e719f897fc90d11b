"""The public surface: ``threadlog`` and ``threadlog.testing`` export what they say."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

import threadlog
import threadlog.testing


def test_every_exported_name_resolves_and_nothing_else_does() -> None:
    assert set(dir(threadlog)) == set(threadlog.__all__)
    for name in threadlog.__all__:
        assert getattr(threadlog, name) is not None, name
    with pytest.raises(AttributeError):
        threadlog.NoSuchThing  # noqa: B018 - the lookup is the test
    assert isinstance(threadlog.__version__, str)
    assert issubclass(threadlog.ThreadNotFoundError, threadlog.ThreadError)
    assert issubclass(threadlog.InvalidThreadIdError, ValueError)


def test_the_testing_module_exports_resolve() -> None:
    for name in threadlog.testing.__all__:
        assert getattr(threadlog.testing, name) is not None, name


def test_host_callbacks_are_typed_not_any() -> None:
    hints = typing.get_type_hints(threadlog.Runtime.__init__)
    assert hints["dynamic_tool_handler"] == threadlog.DynamicToolHandler | None
    assert hints["approval_handler"] == threadlog.ApprovalHandler | None
    start = typing.get_type_hints(threadlog.Runtime.start_turn)
    assert start["host"] == threadlog.HostCalls | None


def test_importing_threadlog_loads_no_runtime() -> None:
    probe = "import sys, threadlog; print(sorted(m for m in ('trio', 'apsw') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
