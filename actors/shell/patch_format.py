"""Codex's ``apply_patch`` format, parsed and applied to file contents (pure).

A patch is a text the model writes as the input of the freeform ``apply_patch`` tool::

    *** Begin Patch
    *** Add File: notes/new.txt
    +first line
    *** Delete File: old.txt
    *** Update File: src/app.py
    *** Move to: src/main.py
    @@ def main():
     context line
    -removed line
    +added line
    *** End of File
    *** End Patch

An update is a list of chunks; each chunk's old lines (context and ``-`` lines) must be
found in the file, in order, after the previous chunk and after its ``@@`` anchor line if it
has one. Lines are matched exactly first, then ignoring trailing and then surrounding
whitespace, as Codex matches them, so a model that re-indents a context line still lands.
Everything here works on values: ``plan`` takes the current contents and returns the
new ones or raises ``PatchError``; reading and writing files is ``shell.apply_patch``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

BEGIN, END = "*** Begin Patch", "*** End Patch"
ADD, DELETE, UPDATE = "*** Add File: ", "*** Delete File: ", "*** Update File: "
MOVE, EOF_MARK = "*** Move to: ", "*** End of File"


class PatchError(ValueError):
    """A patch that does not parse or does not apply; the message goes back to the model."""


@dataclass(frozen=True)
class Chunk:
    """One ``@@`` chunk of an update: lines to find and what replaces them."""

    anchor: str | None
    old: tuple[str, ...]
    new: tuple[str, ...]
    at_eof: bool = False


@dataclass(frozen=True)
class AddFile:
    """Create a file with these contents."""

    path: str
    content: str


@dataclass(frozen=True)
class DeleteFile:
    """Remove a file."""

    path: str


@dataclass(frozen=True)
class UpdateFile:
    """Change a file in place (and perhaps move it)."""

    path: str
    move_to: str | None
    chunks: tuple[Chunk, ...] = field(default=())


Hunk = AddFile | DeleteFile | UpdateFile


def parse(text: str) -> list[Hunk]:
    """The hunks of a patch; raises ``PatchError`` saying which line is wrong."""
    lines = text.strip().split("\n")
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"invalid patch: the first line must be '{BEGIN}'")
    if lines[-1].strip() != END:
        raise PatchError(f"invalid patch: the last line must be '{END}'")
    body = lines[1:-1]
    hunks: list[Hunk] = []
    i = 0
    while i < len(body):
        line = body[i].strip()
        number = i + 2
        if line.startswith(ADD):
            path, i = line[len(ADD) :], i + 1
            added: list[str] = []
            while i < len(body) and body[i].startswith("+"):
                added.append(body[i][1:])
                i += 1
            hunks.append(AddFile(path, "".join(f"{a}\n" for a in added)))
        elif line.startswith(DELETE):
            hunks.append(DeleteFile(line[len(DELETE) :]))
            i += 1
        elif line.startswith(UPDATE):
            update, i = _update(body, i, number)
            hunks.append(update)
        elif not line:
            i += 1
        else:
            raise PatchError(
                f"invalid patch: line {number} '{body[i]}' is not a hunk header "
                f"('{ADD}PATH', '{DELETE}PATH' or '{UPDATE}PATH')"
            )
    if not hunks:
        raise PatchError("invalid patch: it changes no file")
    return hunks


def _is_header(line: str) -> bool:
    s = line.strip()
    return s.startswith((ADD, DELETE, UPDATE)) or s == END


def _update(body: Sequence[str], i: int, number: int) -> tuple[UpdateFile, int]:
    path, i = body[i].strip()[len(UPDATE) :], i + 1
    move_to = None
    if i < len(body) and body[i].strip().startswith(MOVE):
        move_to, i = body[i].strip()[len(MOVE) :], i + 1
    chunks: list[Chunk] = []
    while i < len(body) and not _is_header(body[i]):
        anchor: str | None = None
        line = body[i]
        if line.startswith("@@"):
            anchor = line[2:].strip() or None
            i += 1
        elif chunks:
            raise PatchError(f"invalid patch: line {i + 2} '{line}' should start a chunk with @@")
        old: list[str] = []
        new: list[str] = []
        at_eof = False
        while i < len(body) and not _is_header(body[i]) and not body[i].startswith("@@"):
            line = body[i]
            if line.strip() == EOF_MARK:
                at_eof, i = True, i + 1
                break
            tag, rest = (line[0], line[1:]) if line else (" ", "")
            if tag == " ":
                old.append(rest)
                new.append(rest)
            elif tag == "-":
                old.append(rest)
            elif tag == "+":
                new.append(rest)
            else:
                raise PatchError(
                    f"invalid patch: line {i + 2} '{line}' must start with ' ', '-' or '+'"
                )
            i += 1
        chunks.append(Chunk(anchor, tuple(old), tuple(new), at_eof))
    if not chunks:
        raise PatchError(f"invalid patch: the update of '{path}' (line {number}) is empty")
    return UpdateFile(path, move_to, tuple(chunks)), i


_MATCHERS: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    lambda s: s.rstrip(),
    lambda s: s.strip(),
)


def _seek(lines: Sequence[str], wanted: Sequence[str], start: int, at_eof: bool) -> int | None:
    """Where ``wanted`` occurs in ``lines`` at or after ``start`` (strictest match first)."""
    if not wanted:
        return len(lines)
    last = len(lines) - len(wanted)
    for norm in _MATCHERS:
        target = [norm(w) for w in wanted]
        order = range(last, start - 1, -1) if at_eof else range(start, last + 1)
        for at in order:
            if all(norm(lines[at + k]) == target[k] for k in range(len(wanted))):
                return at
    return None


def apply_update(path: str, content: str, chunks: Sequence[Chunk]) -> str:
    """The file's new contents after the chunks, or ``PatchError`` naming what was missing."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline is not a line of its own
    cursor = 0
    edits: list[tuple[int, int, tuple[str, ...]]] = []
    for chunk in chunks:
        if chunk.anchor is not None:
            found = _seek(lines, [chunk.anchor], cursor, False)
            if found is None:
                raise PatchError(f"Failed to find context '{chunk.anchor}' in {path}")
            cursor = found + 1
        old = list(chunk.old)
        new = chunk.new
        at = _seek(lines, old, cursor, chunk.at_eof)
        if at is None and old and old[-1] == "":
            # a trailing blank context line may be the file's final newline
            old, new = old[:-1], new[:-1] if new and new[-1] == "" else new
            at = _seek(lines, old, cursor, chunk.at_eof)
        if at is None:
            shown = "\n".join(chunk.old)
            raise PatchError(f"Failed to find expected lines in {path}:\n{shown}")
        edits.append((at, len(old), new))
        cursor = at + len(old)
    for at, count, new in reversed(edits):
        lines[at : at + count] = list(new)
    return "".join(f"{line}\n" for line in lines)


def unified_diff(before: str, after: str) -> str:
    """The ``@@`` hunks between two contents, as Codex records an update (one context line)."""
    diff = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), n=1, lineterm="\n"
    )
    return "".join(line for line in list(diff)[2:])


def summary(added: Sequence[str], modified: Sequence[str], deleted: Sequence[str]) -> str:
    """What the tool tells the model on success (paths as the patch named them)."""
    lines = [f"A {p}" for p in added] + [f"M {p}" for p in modified] + [f"D {p}" for p in deleted]
    return "Success. Updated the following files:\n" + "".join(f"{line}\n" for line in lines)
