"""How threadlog's logs are laid out on a JetStream stream: the URL, subjects, records, ids.

Pure values and parsers (no I/O): ``jetstream_log`` does the talking.

One stream per deployment holds three subject spaces under a prefix:

* ``<prefix>.threads.<id>``: the thread's rollout, one message per line (a line larger
  than a message may be is cut into chunks that land in one atomic batch). The log is the
  concatenation of its messages' data, so byte positions mean what they mean in a file;
  each message says where it starts (``Tl-Offset``), and its ``Nats-Msg-Id`` which it is.
* ``<prefix>.catalog.<id>``: the thread's catalog record (created, archived, incarnation);
  its latest message is the thread's state, and a move to the archive is one publish.
* ``<prefix>.names.<id>``: the thread's names, the latest winning (L7).

A log's location, which ``Thread.path`` shows, is ``nats://<stream>/sessions/<created
ms>-<id>`` (or ``.../archived/...``): the same shape as the memory store's.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qs, urlsplit

import msgspec

from threadlog.events.ids import is_thread_id

SCHEME: Final = "nats://"
OFFSET_HEADER: Final = "Tl-Offset"
CONTINUATION_HEADER: Final = "Tl-Continues"  # on a message that continues the line before it
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,3}")
_LOCATION = re.compile(
    r"nats://(?P<stream>[A-Za-z0-9_-]{1,64})/(?P<place>sessions|archived)/"
    r"(?P<created>\d{13})-(?P<id>[0-9a-f-]{36})"
)


class JetStreamTarget(msgspec.Struct, frozen=True):
    """Where the logs live: the servers, the stream, the subject prefix, how replicated."""

    servers: tuple[str, ...]
    stream: str = "threadlog"
    prefix: str = "threadlog"
    replicas: int = 1
    monitor: str | None = None  # the server's HTTP monitoring URL (to read sync_always)


def parse_target(url: str) -> JetStreamTarget:
    """``nats://HOST:PORT[,HOST:PORT...][?stream=S&prefix=P&replicas=N&monitor=URL]``.

    ``ValueError`` naming what is wrong: the names become subjects and a stream name."""
    parts = urlsplit(url)
    if parts.scheme != "nats" or not parts.netloc:
        raise ValueError(f"{url!r} is not a nats://HOST:PORT URL")
    if parts.path not in ("", "/"):
        raise ValueError(f"{url!r}: give the stream as ?stream=NAME, not as a path")
    servers = tuple(f"nats://{host}" for host in parts.netloc.split(",") if host)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"stream", "prefix", "replicas", "monitor"}
    if unknown:
        raise ValueError(f"{url!r}: unknown parameter {sorted(unknown)[0]!r}")
    stream = query.get("stream", "threadlog")
    prefix = query.get("prefix", stream)
    if not _NAME.fullmatch(stream):
        raise ValueError(f"stream name {stream!r}: letters, digits, _ and - only")
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"subject prefix {prefix!r}: up to 4 tokens of letters, digits, _, -")
    try:
        replicas = int(query.get("replicas", "1"))
    except ValueError:
        raise ValueError(f"replicas {query['replicas']!r} is not a number") from None
    if replicas not in (1, 3, 5):
        raise ValueError(f"replicas {replicas}: JetStream streams have 1, 3 or 5")
    monitor = query.get("monitor") or None
    if monitor is not None and not monitor.startswith(("http://", "https://")):
        raise ValueError(f"monitor {monitor!r} is not an http(s):// URL")
    return JetStreamTarget(servers, stream, prefix, replicas, monitor)


class CatalogRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A thread's state: when its log was created, whether archived, which incarnation."""

    created_ms: int
    archived: bool
    incarnation: str
    # The log's modification time as of this record, when one was set (a copy carries
    # the source's over; an unarchive touches, as on a file); a later line supersedes it.
    modified_ms: int = 0


class Located(msgspec.Struct, frozen=True):
    """What a location names."""

    stream: str
    thread_id: str
    archived: bool
    created_ms: int


def location_of(stream: str, thread_id: str, created_ms: int, archived: bool) -> str:
    """A log's location (what ``Thread.path`` shows)."""
    place = "archived" if archived else "sessions"
    return f"{SCHEME}{stream}/{place}/{created_ms:013d}-{thread_id}"


def parse_location(location: str) -> Located | None:
    """The parts of a location this layout gives out, or None for anything else."""
    found = _LOCATION.fullmatch(location)
    if found is None or not is_thread_id(found["id"]):
        return None
    return Located(
        found["stream"], found["id"], found["place"] == "archived", int(found["created"])
    )


def thread_subject(prefix: str, thread_id: str) -> str:
    """The subject of a thread's lines."""
    return f"{prefix}.threads.{thread_id}"


def catalog_subject(prefix: str, thread_id: str) -> str:
    """The subject of a thread's catalog records."""
    return f"{prefix}.catalog.{thread_id}"


def names_subject(prefix: str, thread_id: str) -> str:
    """The subject of a thread's names."""
    return f"{prefix}.names.{thread_id}"


def message_id(thread_id: str, incarnation: str, count: int, writer: str) -> str:
    """``Nats-Msg-Id`` of a log's ``count``-th message as ``writer`` sends it: its own
    retry is recognised by it, and a rival writer's message at the same count is not
    (the server would take a rival with the same id for a duplicate and ack it)."""
    return f"{thread_id}.{incarnation}.{count}.{writer}"


def count_of(msg_id: str | None) -> int:
    """Which message of its log a ``Nats-Msg-Id`` names (0 for none)."""
    parts = (msg_id or "").split(".")
    return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else 0


def chunks(line: bytes, size: int) -> list[bytes]:
    """A line cut into pieces of at most ``size`` bytes (one piece when it fits)."""
    if len(line) <= size:
        return [line]
    return [line[at : at + size] for at in range(0, len(line), size)]
