"""Timestamps exactly as Codex writes them.

Codex formats every rollout timestamp as UTC with millisecond precision and a literal
``Z`` (``2026-02-10T18:22:03.123Z``). Parsing is lenient (any RFC 3339 offset, any number
of fraction digits, and the ``2025-03-04T09-00-00`` file-name form) because old files and
other tools write variants. Pure: callers pass the instant, this module never reads a clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_FILENAME_FORM = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})$")


def format_timestamp(moment: datetime) -> str:
    """Format an aware (or UTC-naive) datetime as ``YYYY-MM-DDThh:mm:ss.mmmZ``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
        f"{moment.microsecond // 1000:03d}Z"
    )


def format_timestamp_ms(epoch_ms: int) -> str:
    """Format Unix milliseconds as a Codex rollout timestamp."""
    return format_timestamp(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms))


def format_rfc3339_seconds(epoch_seconds: int) -> str:
    """Format Unix seconds as RFC 3339 UTC without a fraction (``…T09:00:00Z``)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 or file-name-form timestamp into an aware UTC datetime.

    A value without an offset is read as UTC, as Codex does. Raises ``ValueError``.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        match = _FILENAME_FORM.fullmatch(text)
        if match is None:
            raise ValueError(f"not a timestamp: {text[:64]!r}")
        y, mo, d, h, mi, s = (int(p) for p in match.groups())
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    fields = match.groups()
    y, mo, d, h, mi, s = (int(p) for p in fields[:6])
    frac, offset = fields[6], fields[7]
    micro = int((frac or "0")[:6].ljust(6, "0"))
    moment = datetime(y, mo, d, h, mi, s, micro, tzinfo=UTC)
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= sign * delta
    return moment


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)


def timestamp_to_ms(text: str) -> int:
    """Unix milliseconds of a timestamp string (see ``parse_timestamp``)."""
    if (
        len(text) == 24
        and text.isascii()
        and text[4] + text[7] + text[10] + text[13] + text[16] + text[19] + text[23]
        in ("--T::.Z", "--t::.Z", "-- ::.Z")
    ):
        # What Codex writes (``2025-08-25T17:44:03.123Z``), read by one C call: the index
        # reads one a thread, and the regex and six int() calls were 5% of a small one's
        # fold. Anything else, or what fromisoformat refuses, goes the general way.
        try:
            return (datetime.fromisoformat(text) - _EPOCH) // _MS
        except ValueError:
            pass
    return (parse_timestamp(text) - _EPOCH) // _MS
