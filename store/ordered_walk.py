"""A home's rollout files in watermark order, in memory that does not grow with the home.

The backfill resumes after a watermark (a file's path relative to the home), so it needs
the files in watermark order. Listing every file and sorting cost about 1 KB per file
(a ``Path``, a ``LogRef`` and a sort key each; 90 MiB more at 100,000 files), so instead:

* ``rollout_files_in_order`` walks the tree depth first, each directory's names sorted
  the way whole paths sort (a folder's name is followed by ``/``). It holds at most 8,192
  names of each directory on the current path: a bigger one is read once per chunk. A
  folder whose every path is at or before the watermark is not read at all, so a resumed
  backfill starts where it left off.
* ``threads_with_several_files`` finds the threads with more than one file (a revert's
  later files, or a copy), whose older files the listing must skip. It walks once with a
  fixed 2 MiB bitmap of hashed thread ids, then once more for the ids whose bits collided
  only, so what it keeps is those few threads' paths.

A folder whose name is not valid text cannot be a Codex folder (and cannot be a
watermark): it is skipped.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from threadlog.store.layout import (
    ARCHIVED_DIR,
    SESSIONS_DIR,
    RolloutName,
    file_order,
    parse_rollout_file_name,
)

_BITMAP_BITS: Final = 1 << 24
_CHUNK: Final = 8192


def rollout_files_in_order(
    home: Path, *, archived: bool, after: str | None = None
) -> Iterator[tuple[str, Path, RolloutName]]:
    """``(watermark, path, parsed name)`` of each well-formed rollout file, live
    (recursive) or archived (flat), in watermark order; those after ``after`` only."""
    top = ARCHIVED_DIR if archived else SESSIONS_DIR
    yield from _walk_in_order(home / top, top + "/", after, recurse=not archived)


def _walk_in_order(
    directory: Path, prefix: str, after: str | None, *, recurse: bool
) -> Iterator[tuple[str, Path, RolloutName]]:
    for name in _ordered_names(directory, prefix, after, recurse=recurse):
        if name.endswith("/"):
            yield from _walk_in_order(directory / name[:-1], prefix + name, after, recurse=True)
        elif (parsed := parse_rollout_file_name(name)) is not None:
            yield prefix + name, directory / name, parsed


def _ordered_names(
    directory: Path, prefix: str, after: str | None, *, recurse: bool
) -> Iterator[str]:
    """The directory's entries in path order, ``name/`` for a folder (so that they sort
    as the full paths they lead to: str order is UTF-8 byte order), a rollout file's name
    for a file. At most ``_CHUNK`` names are held: a bigger directory is read again for
    each next chunk (a day folder of 100,000 copies must not cost 100,000 names)."""
    low: str | None = None
    while True:
        seen = [0]
        chunk = heapq.nsmallest(_CHUNK, _names_after(directory, prefix, after, low, seen, recurse))
        yield from chunk
        if seen[0] <= _CHUNK:
            return
        low = chunk[-1]


def _names_after(
    directory: Path, prefix: str, after: str | None, low: str | None, seen: list[int], recurse: bool
) -> Iterator[str]:
    """One read of the directory: its sort names after ``low``, counted in ``seen``."""
    try:
        scan = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    with scan:
        for entry in scan:
            name = _sort_name(entry, prefix, after, recurse=recurse)
            if name is not None and (low is None or name > low):
                seen[0] += 1
                yield name


def _sort_name(
    entry: os.DirEntry[str], prefix: str, after: str | None, *, recurse: bool
) -> str | None:
    name = entry.name
    if entry.is_dir(follow_symlinks=False):
        if not recurse or not _is_text(name):
            return None
        folder = prefix + name + "/"
        if after is not None and folder < after and not after.startswith(folder):
            return None  # every path under it is before the watermark
        return name + "/"
    if not (name.startswith("rollout-") and name.endswith(".jsonl")):
        return None
    if not entry.is_file(follow_symlinks=False):
        return None
    return name if after is None or prefix + name > after else None


def _is_text(name: str) -> bool:
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def _names(root: Path, *, recurse: bool) -> Iterator[tuple[str, str]]:
    """``(directory, file name)`` of every regular file under ``root``, unordered."""
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            scan = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False):
                    if recurse:
                        stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield directory, entry.name


def threads_with_several_files(home: Path, *, archived: bool) -> dict[str, Path]:
    """The newest file of each thread that has more than one, live or archived."""
    root = home / (ARCHIVED_DIR if archived else SESSIONS_DIR)
    seen = bytearray(_BITMAP_BITS // 8)
    collided: set[int] = set()
    for _, name in _names(root, recurse=not archived):
        parsed = parse_rollout_file_name(name)
        if parsed is None:
            continue
        bit = hash(parsed.thread_id) & (_BITMAP_BITS - 1)
        byte, mask = bit >> 3, 1 << (bit & 7)
        if seen[byte] & mask:
            collided.add(bit)
        else:
            seen[byte] |= mask
    del seen
    if not collided:
        return {}
    files: dict[str, list[Path]] = {}
    for directory, name in _names(root, recurse=not archived):
        parsed = parse_rollout_file_name(name)
        if parsed is not None and hash(parsed.thread_id) & (_BITMAP_BITS - 1) in collided:
            files.setdefault(parsed.thread_id, []).append(Path(directory, name))
    return {tid: max(paths, key=file_order) for tid, paths in files.items() if len(paths) > 1}
