"""The local command executor a driver runs commands through.

A command runs in a subprocess under trio with a timeout, its output collected; the host's
approval callback is asked first and may decline. The sandbox policy says what the command
may *read*: ``full-access``, or ``restricted`` to the platform defaults and some readable
roots. This executor cannot confine reads (it runs plain subprocesses), so a restricted read
surface makes it refuse to run, failing closed with a clear error rather than silently
granting more.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import trio

ApprovalCallback = Callable[[list[str], str], Awaitable[bool]]
MAX_CAPTURE = 16 << 20


class ReadAccess(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of the read-access kinds."""


class FullAccess(ReadAccess, frozen=True, tag="full-access"):
    """Commands may read anything."""


class RestrictedAccess(ReadAccess, frozen=True, tag="restricted"):
    """Commands may read only the platform defaults (if included) and these roots."""

    include_platform_defaults: bool = True
    readable_roots: list[str] = []


class SandboxPolicy(msgspec.Struct, frozen=True):
    """What commands may do; this runtime models the read surface explicitly."""

    read_access: FullAccess | RestrictedAccess = FullAccess()


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


async def allow_all(command: list[str], cwd: str) -> bool:
    """The default approval callback: approve everything."""
    return True


class CommandExecutor:
    """Runs commands for drivers."""

    def __init__(
        self,
        *,
        approval: ApprovalCallback = allow_all,
        default_timeout: float = 60.0,
    ) -> None:
        self.approval = approval
        self.default_timeout = default_timeout

    def check_policy(self, policy: SandboxPolicy) -> None:
        """Raise ``SandboxRefusal`` when the policy asks for confinement we cannot give."""
        if isinstance(policy.read_access, RestrictedAccess):
            raise SandboxRefusal(
                "sandbox policy restricts reads to "
                f"{policy.read_access.readable_roots or 'the platform defaults'}, "
                "but this executor cannot confine what a command reads; refusing to run"
            )

    async def run(
        self,
        command: list[str],
        *,
        cwd: str,
        policy: SandboxPolicy,
        timeout: float | None = None,
    ) -> ExecOutcome:
        """Ask for approval, check the policy, then run the command to its end."""
        if not command:
            raise ValueError("empty command")
        if not await self.approval(list(command), cwd):
            return ExecOutcome(-1, "", "", "", 0, "declined")
        self.check_policy(policy)
        started = time.monotonic()
        limit = timeout if timeout is not None else self.default_timeout
        timed_out = False
        result: subprocess.CompletedProcess[bytes] | None = None
        with trio.move_on_after(limit) as scope:
            try:
                result = await trio.run_process(
                    command,
                    cwd=cwd,
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except OSError as exc:
                duration = int((time.monotonic() - started) * 1000)
                message = f"failed to start {command[0]}: {exc.strerror or exc}"
                return ExecOutcome(127, "", message, message, duration, "failed")
        timed_out = scope.cancelled_caught
        duration = int((time.monotonic() - started) * 1000)
        if timed_out or result is None:
            message = f"command timed out after {limit:g}s"
            return ExecOutcome(124, "", message, message, duration, "failed")
        stdout = result.stdout[:MAX_CAPTURE].decode("utf-8", "replace")
        stderr = result.stderr[:MAX_CAPTURE].decode("utf-8", "replace")
        status: Literal["completed", "failed"] = "completed" if result.returncode == 0 else "failed"
        return ExecOutcome(result.returncode, stdout, stderr, stdout + stderr, duration, status)
