"""``session_index.jsonl``: the thread-name index Codex keeps beside the sessions.

Append-only, one ``{"id", "thread_name", "updated_at"}`` object per line. The latest line
for an id wins by append order (``updated_at`` is never compared). Names are trimmed; empty
names are never written and are ignored when read. Lines that are not valid JSON, not UTF-8
or not of that shape are skipped, so one bad line never hides the others.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

import msgspec

from threadlog.events.ids import is_thread_id, parse_thread_id
from threadlog.store.layout import SESSION_INDEX_FILE, make_private_dirs
from threadlog.store.ports import LogWriteError

_CHUNK: Final = 8192


class NameEntry(msgspec.Struct, frozen=True):
    """One line of the name index."""

    id: str
    thread_name: str
    updated_at: str = "unknown"


_decoder = msgspec.json.Decoder(NameEntry)


def index_path(home: Path) -> Path:
    """Where the name index of a home lives."""
    return home / SESSION_INDEX_FILE


def normalize_name(name: str) -> str:
    """The trimmed name; raises ``ValueError`` when nothing is left."""
    trimmed = name.strip()
    if not trimmed:
        raise ValueError("thread name must not be empty")
    return trimmed


def append_thread_name(home: Path, thread_id: str, name: str, updated_at: str) -> None:
    """Append a name for a thread, flushed and fsynced (the file is created 0600)."""
    entry = NameEntry(parse_thread_id(thread_id), normalize_name(name), updated_at)
    make_private_dirs(home)
    fd = os.open(index_path(home), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        start = os.fstat(fd).st_size
        data = msgspec.json.encode(entry) + b"\n"
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            # A full disk must not leave half an entry for every later reader to skip: cut
            # the file back to its last complete line (the caller holds the index's lock).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise LogWriteError(
                exc.errno, f"cannot append to {index_path(home)}: {exc.strerror or exc}"
            ) from exc
    finally:
        os.close(fd)


def _parse(line: bytes) -> NameEntry | None:
    line = line.strip()
    if not line:
        return None
    try:
        entry = _decoder.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not is_thread_id(entry.id) or not entry.thread_name.strip():
        return None
    return NameEntry(entry.id.lower(), entry.thread_name.strip(), entry.updated_at)


def _lines_backwards(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        pos = stream.seek(0, os.SEEK_END)
        tail = b""
        while pos > 0:
            step = min(_CHUNK, pos)
            pos -= step
            stream.seek(pos)
            buf = stream.read(step) + tail
            parts = buf.split(b"\n")
            tail = parts[0]
            yield from reversed(parts[1:])
        yield tail


def find_thread_name(home: Path, thread_id: str) -> str | None:
    """The current name of one thread, reading the index backwards from its end."""
    tid = parse_thread_id(thread_id)
    path = index_path(home)
    if not path.exists():
        return None
    for line in _lines_backwards(path):
        entry = _parse(line)
        if entry is not None and entry.id == tid:
            return entry.thread_name
    return None


class _Folded(msgspec.Struct):
    """The names folded from a name index's complete lines up to ``offset``, and what
    tells the file they were read from: a file that is not the same one grown by appends
    (another inode, shorter, other bytes before ``offset``) is read again from the start."""

    device: int
    inode: int
    offset: int
    before: bytes
    names: dict[str, str]


_folded: dict[str, _Folded] = {}
_folded_lock = threading.Lock()


def _current_names(home: Path) -> dict[str, str]:
    """Every named thread's current name: the index is append-only, so only lines added
    since the last call are parsed (a listing page asks for its rows' names every time).
    The returned dict is shared: read it, never change it."""
    path = index_path(home)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return {}
    with stream, _folded_lock:
        stat = os.fstat(stream.fileno())
        known = _folded.get(str(path))
        if known is None or not _continues(stream, stat, known):
            known = _Folded(stat.st_dev, stat.st_ino, 0, b"", {})
        stream.seek(known.offset)
        data = stream.read()
        end = data.rfind(b"\n") + 1
        names = dict(known.names) if end else known.names
        for line in data[:end].split(b"\n"):
            entry = _parse(line)
            if entry is not None:
                names[entry.id] = entry.thread_name
        if end:
            offset = known.offset + end
            before = (known.before + data[:end])[-_CHECKED:]
            known = _Folded(stat.st_dev, stat.st_ino, offset, before, names)
            _folded[str(path)] = known
        torn = _parse(data[end:])  # a last line still being written counts, as it reads
        if torn is None:
            return known.names
        return {**known.names, torn.id: torn.thread_name}


_CHECKED: Final = 64


def _continues(stream: BinaryIO, stat: os.stat_result, known: _Folded) -> bool:
    if (stat.st_dev, stat.st_ino) != (known.device, known.inode) or stat.st_size < known.offset:
        return False
    stream.seek(known.offset - len(known.before))
    return stream.read(len(known.before)) == known.before


def all_thread_names(home: Path) -> dict[str, str]:
    """The current name of every named thread (later lines win)."""
    return dict(_current_names(home))


def find_thread_names(home: Path, thread_ids: Iterable[str]) -> dict[str, str]:
    """The current names of the given threads (ids without a name are absent)."""
    wanted = {parse_thread_id(t) for t in thread_ids}
    if not wanted:
        return {}
    names = _current_names(home)
    return {tid: names[tid] for tid in wanted if tid in names}


def named_thread_ids(home: Path) -> set[str]:
    """The ids that carry a name."""
    return set(all_thread_names(home))


def find_thread_ids_by_name(home: Path, name: str) -> list[str]:
    """Ids whose current name equals the trimmed ``name`` exactly, sorted."""
    wanted = name.strip()
    return sorted(tid for tid, current in all_thread_names(home).items() if current == wanted)
