"""The local command executor a driver runs commands through.

A command runs in a subprocess under trio with a timeout (its process group is killed on
timeout or interrupt), and its output streams to a callback as it arrives. The read surface
comes from the thread's sandbox policy (``actors.sandbox``): this executor runs plain
subprocesses and cannot confine what they read, so a ``restricted`` surface makes it refuse
to run, failing closed with a clear error rather than silently granting more. Approval is
the runtime's business and is settled before the executor is called.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import trio

from threadlog.actors.shell.sandbox import ReadAccess, RestrictedAccess

OutputCallback = Callable[[str], Awaitable[None]]
MAX_CAPTURE = 16 << 20


class SandboxRefusal(Exception):
    """The executor cannot enforce the policy, so it does not run the command."""


class ExecOutcome(msgspec.Struct, frozen=True):
    """How a command ended."""

    exit_code: int
    stdout: str
    stderr: str
    aggregated_output: str
    duration_ms: int
    status: Literal["completed", "failed", "declined"]


class _Capture:
    """Bytes of one stream (capped) plus the arrival-ordered aggregate they share."""

    def __init__(self, aggregate: bytearray) -> None:
        self.data = bytearray()
        self.aggregate = aggregate
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def add(self, chunk: bytes | bytearray) -> str:
        room = MAX_CAPTURE - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        room = MAX_CAPTURE - len(self.aggregate)
        if room > 0:
            self.aggregate += chunk[:room]
        return str(self.decoder.decode(chunk))


class CommandExecutor:
    """Runs commands for drivers."""

    def __init__(self, *, default_timeout: float = 60.0) -> None:
        self.default_timeout = default_timeout

    def check_policy(self, access: ReadAccess) -> None:
        """Raise ``SandboxRefusal`` when the policy asks for confinement we cannot give."""
        if isinstance(access, RestrictedAccess):
            roots = access.readable_roots
            surface = ", ".join(roots) if roots else "no roots"
            if access.include_platform_defaults:
                surface += " plus the platform defaults"
            raise SandboxRefusal(
                f"sandbox policy restricts reads to {surface}, but this executor cannot "
                "confine what a command reads; refusing to run"
            )

    async def run(
        self,
        command: list[str],
        *,
        cwd: str,
        access: ReadAccess,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecOutcome:
        """Check the policy, then run the command to its end, streaming its output."""
        if not command:
            raise ValueError("empty command")
        self.check_policy(access)
        started = time.monotonic()
        limit = timeout if timeout is not None else self.default_timeout
        try:
            process = await trio.lowlevel.open_process(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            duration = int((time.monotonic() - started) * 1000)
            message = f"failed to start {command[0]}: {exc.strerror or exc}"
            return ExecOutcome(127, "", message, message, duration, "failed")
        aggregate = bytearray()
        out, err = _Capture(aggregate), _Capture(aggregate)

        async def pump(stream: trio.abc.ReceiveStream | None, capture: _Capture) -> None:
            if stream is None:
                return
            async for chunk in stream:
                text = capture.add(chunk)
                if on_output is not None and text:
                    await on_output(text)

        try:
            with trio.move_on_after(limit) as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(pump, process.stdout, out)
                    nursery.start_soon(pump, process.stderr, err)
                await process.wait()
        finally:
            if process.returncode is None:
                _kill_group(process)
                with trio.CancelScope(shield=True):
                    await process.wait()
        duration = int((time.monotonic() - started) * 1000)
        if scope.cancelled_caught:
            message = f"command timed out after {limit:g}s"
            return ExecOutcome(124, "", message, message, duration, "failed")
        code = process.returncode if process.returncode is not None else -1
        status: Literal["completed", "failed"] = "completed" if code == 0 else "failed"
        return ExecOutcome(
            code,
            out.data.decode("utf-8", "replace"),
            err.data.decode("utf-8", "replace"),
            aggregate.decode("utf-8", "replace"),
            duration,
            status,
        )


def _kill_group(process: trio.Process) -> None:
    """Kill the command and whatever it started (it leads its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
