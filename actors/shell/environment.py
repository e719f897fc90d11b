"""The session's environment: cwd, shell, local date and IANA zone (the model is told it).

This is the shell side of the runtime: it reads the clock and the system's zone settings.
The zone is ``$TZ`` when it names an IANA zone, else the target of ``/etc/localtime``, else
``/etc/timezone``, else ``UTC`` when none can be determined.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

_ZONEINFO_MARKERS: Final = ("zoneinfo/",)


def _valid_zone(name: str) -> str | None:
    name = name.strip().lstrip(":")
    if not name or name.startswith("/"):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def local_timezone() -> str:
    """The IANA name of the local zone (``UTC`` when it cannot be determined)."""
    from_env = _valid_zone(os.environ.get("TZ", ""))
    if from_env:
        return from_env
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        target = ""
    for marker in _ZONEINFO_MARKERS:
        if marker in target:
            zone = _valid_zone(target.split(marker, 1)[1])
            if zone:
                return zone
    try:
        zone = _valid_zone(Path("/etc/timezone").read_text())
    except OSError:
        zone = None
    return zone or "UTC"


class Environment(msgspec.Struct, frozen=True):
    """What ``<environment_context>`` and ``turn_context`` record."""

    cwd: str
    shell: str
    current_date: str
    timezone: str


def current_environment(cwd: str, now: datetime | None = None) -> Environment:
    """The environment right now, in the local zone."""
    zone = local_timezone()
    moment = now or datetime.now(ZoneInfo(zone))
    shell = Path(os.environ.get("SHELL", "bash")).name or "bash"
    return Environment(
        cwd=cwd, shell=shell, current_date=moment.strftime("%Y-%m-%d"), timezone=zone
    )
