"""A home's rollout files in watermark order, in memory that does not grow with the home.

The backfill resumes after a watermark (a file's path relative to the home), so it needs
the files in watermark order. Listing every file and sorting cost about 1 KB per file
(a ``Path``, a ``LogRef`` and a sort key each; 90 MiB more at 100,000 files), so instead:

* ``rollout_files_in_order`` walks the tree depth first, each directory's names sorted
  the way whole paths sort (a folder's name is followed by ``/``). It holds at most 16,384
  names of each directory on the current path: a bigger one is read once per chunk of
  8,192. A folder whose every path is at or before the watermark is not read at all, so
  a resumed backfill starts where it left off.
* ``count_rollout_files`` counts what that walk gives in one walk in no order (a
  progress's total).
* ``threads_with_several_files`` finds the threads with more than one file (a revert's
  later files, or a copy), whose older files the listing must skip. It walks once with a
  fixed 2 MiB bitmap of hashed thread ids, then once more for the ids whose bits collided
  only, so what it keeps is those few threads' paths.

A folder whose name is not valid text cannot be a Codex folder (and cannot be a
watermark): it is skipped.
"""

from __future__ import annotations

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
    walk_file_names,
)

_BITMAP_BITS: Final = 1 << 24
_CHUNK: Final = 8192


def rollout_files_in_order(
    home: Path, *, archived: bool, after: str | None = None
) -> Iterator[tuple[str, str, RolloutName]]:
    """``(watermark, path, parsed name)`` of each well-formed rollout file, live
    (recursive) or archived (flat), in watermark order; those after ``after`` only.

    Paths are strings: a ``Path`` a file was a tenth of a walk, and a log's location is
    its path's text anyway."""
    top = ARCHIVED_DIR if archived else SESSIONS_DIR
    yield from _walk_in_order(os.path.join(home, top), top + "/", after, recurse=not archived)


def _walk_in_order(
    directory: str, prefix: str, after: str | None, *, recurse: bool
) -> Iterator[tuple[str, str, RolloutName]]:
    for name in _ordered_names(directory, prefix, after, recurse=recurse):
        if name.endswith("/"):
            inner = directory + os.sep + name[:-1]
            yield from _walk_in_order(inner, prefix + name, after, recurse=True)
        elif (parsed := parse_rollout_file_name(name)) is not None:
            yield prefix + name, directory + os.sep + name, parsed


def _ordered_names(
    directory: str, prefix: str, after: str | None, *, recurse: bool
) -> Iterator[str]:
    """The directory's entries in path order, ``name/`` for a folder (so that they sort
    as the full paths they lead to: str order is UTF-8 byte order), a rollout file's name
    for a file. A directory of more than ``_CHUNK`` names is read again for each next
    chunk (a day folder of 100,000 copies must not cost 100,000 names at once)."""
    low: str | None = None
    while True:
        chunk, more = _chunk_after(directory, prefix, after, low, recurse)
        yield from chunk
        if not more or not chunk:
            return
        low = chunk[-1]


def _chunk_after(
    directory: str, prefix: str, after: str | None, low: str | None, recurse: bool
) -> tuple[list[str], bool]:
    """One read of the directory: the ``_CHUNK`` smallest sort names after ``low``, sorted,
    and whether any follow. At most twice that many are held: when the list fills, it is
    cut to the smallest and what sorts after them is skipped from then on."""
    names: list[str] = []
    high: str | None = None
    more = False
    try:
        scan = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return names, more
    with scan:
        for entry in scan:
            raw = entry.name
            if low is not None and raw < low and not low.startswith(raw):
                # Below ``low`` and not a prefix of it: so is "raw/" (a cheap test first,
                # as each later chunk's read meets every earlier chunk's names again).
                continue
            if high is not None and raw >= high:
                more = True  # so is "raw/": past this chunk, whatever it is
                continue
            name = _sort_name(entry, prefix, after, recurse=recurse)
            if name is None or (low is not None and name <= low):
                continue
            if high is not None and name >= high:
                more = True
                continue
            names.append(name)
            if len(names) >= 2 * _CHUNK:
                names.sort()
                high = names[_CHUNK]
                del names[_CHUNK:]
                more = True
    names.sort()
    if len(names) > _CHUNK:
        del names[_CHUNK:]
        more = True
    return names, more


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


def count_rollout_files(
    home: Path, *, archived: bool, after: str | None = None, newest: dict[str, str]
) -> int:
    """How many files ``rollout_files_in_order`` gives, less the older files of threads
    with several (``newest``: each such thread's newest path, which alone counts).

    One walk in no order: ordering a folder bigger than a chunk reads it once per chunk
    (13 times for a day folder of 99,000 files), and a count needs no order."""
    top = ARCHIVED_DIR if archived else SESSIONS_DIR
    return _count_in(os.path.join(home, top), top + "/", after, not archived, newest)


def _count_in(
    directory: str, prefix: str, after: str | None, recurse: bool, newest: dict[str, str]
) -> int:
    count = 0
    folders: list[str] = []
    try:
        scan = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return 0
    with scan:
        for entry in scan:
            name = _sort_name(entry, prefix, after, recurse=recurse)
            if name is None:
                continue
            if name.endswith("/"):
                folders.append(name)  # walked once this folder is closed
            elif (parsed := parse_rollout_file_name(name)) is not None:
                kept = newest.get(parsed.thread_id)
                count += kept is None or kept == directory + os.sep + name
    for folder in folders:
        count += _count_in(directory + os.sep + folder[:-1], prefix + folder, after, True, newest)
    return count


def _is_text(name: str) -> bool:
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def threads_with_several_files(home: Path, *, archived: bool) -> dict[str, Path]:
    """The newest file of each thread that has more than one, live or archived."""
    root = home / (ARCHIVED_DIR if archived else SESSIONS_DIR)
    seen = bytearray(_BITMAP_BITS // 8)
    collided: set[int] = set()
    for _, name in walk_file_names(root, recurse=not archived):
        bit = _bit_of(name)
        if bit is None:
            continue
        byte, mask = bit >> 3, 1 << (bit & 7)
        if seen[byte] & mask:
            collided.add(bit)
        else:
            seen[byte] |= mask
    del seen
    if not collided:
        return {}
    files: dict[str, list[Path]] = {}
    for directory, name in walk_file_names(root, recurse=not archived):
        if _bit_of(name) in collided and (parsed := parse_rollout_file_name(name)) is not None:
            files.setdefault(parsed.thread_id, []).append(Path(directory, name))
    return {tid: max(paths, key=file_order) for tid, paths in files.items() if len(paths) > 1}


def _bit_of(name: str) -> int | None:
    """The bitmap bit of a rollout file name's thread id, read from where every such name
    holds it (``rollout-`` and the time are fixed width) without parsing the whole name:
    a name that only looks like one costs a spurious bit, which the exact pass drops."""
    if not (name.startswith("rollout-") and name.endswith(".jsonl")) or len(name) < 70:
        return None
    return hash(name[28:64].lower()) & (_BITMAP_BITS - 1)
