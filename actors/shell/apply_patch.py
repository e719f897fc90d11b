"""Apply a Codex patch to the files: verify every hunk first, then write.

Nothing is written unless the whole patch parses, every path is inside the writable roots
of the thread's sandbox policy, and every update finds its lines; so a patch that does not
apply changes nothing, and its error is what the model reads back (as in Codex, prefixed
``apply_patch verification failed:``). Each file is replaced through a fsynced temporary
file, so a crash leaves either the old or the new contents, never a torn file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadlog.actors.shell.patch_format import (
    AddFile,
    DeleteFile,
    PatchError,
    UpdateFile,
    apply_update,
    parse,
    summary,
    unified_diff,
)


@dataclass(frozen=True)
class PatchOutcome:
    """How a patch went: the changes map of ``patch_apply_end`` and the model's answer."""

    success: bool
    changes: dict[str, Any]
    stdout: str
    stderr: str


def _os_error(exc: OSError) -> str:
    return f"{exc.strerror or exc} (os error {exc.errno})"


def _inside(path: Path, roots: tuple[str, ...]) -> bool:
    return any(path == Path(r).resolve() or Path(r).resolve() in path.parents for r in roots)


def _resolve(cwd: str, name: str, roots: tuple[str, ...] | None) -> Path:
    if not name.strip():
        raise PatchError("a hunk names no file")
    path = (Path(cwd) / name).resolve()
    if roots is not None and not _inside(path, roots):
        shown = ", ".join(roots) or "none"
        raise PatchError(f"writing {path} is outside the sandbox's writable roots ({shown})")
    return path


def _read(path: Path, purpose: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PatchError(f"Failed to read file to {purpose} {path}: {_os_error(exc)}") from None
    except UnicodeDecodeError:
        raise PatchError(f"Failed to read file to {purpose} {path}: not UTF-8 text") from None


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.apply_patch.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def apply_patch(text: str, cwd: str, writable: tuple[str, ...] | None) -> PatchOutcome:
    """Verify then apply ``text`` relative to ``cwd``; ``writable`` ``None`` means anywhere."""
    try:
        ops, changes, names = _verify(text, cwd, writable)
    except PatchError as exc:
        return PatchOutcome(False, {}, "", f"apply_patch verification failed: {exc}")
    try:
        for path, content in ops:  # in the patch's order: a file may be deleted, then added
            if content is None:
                path.unlink()
            else:
                _write(path, content)
    except OSError as exc:
        # Verified but refused by the disk: say what the files now are.
        return PatchOutcome(False, changes, "", f"apply_patch failed: {_os_error(exc)}")
    return PatchOutcome(True, changes, summary(*names), "")


def _verify(
    text: str, cwd: str, writable: tuple[str, ...] | None
) -> tuple[list[tuple[Path, str | None]], dict[str, Any], tuple[list[str], list[str], list[str]]]:
    ops: list[tuple[Path, str | None]] = []
    changes: dict[str, Any] = {}
    added: list[str] = []
    modified: list[str] = []
    deleted: list[str] = []
    pending: dict[Path, str | None] = {}  # what earlier hunks leave a file as

    def current(path: Path, purpose: str) -> str:
        if path not in pending:
            return _read(path, purpose)
        content = pending[path]
        if content is None:
            raise PatchError(f"Failed to read file to {purpose} {path}: deleted by this patch")
        return content

    for hunk in parse(text):
        path = _resolve(cwd, hunk.path, writable)
        if isinstance(hunk, AddFile):
            ops.append((path, hunk.content))
            pending[path] = hunk.content
            changes[str(path)] = {"type": "add", "content": hunk.content}
            added.append(hunk.path)
        elif isinstance(hunk, DeleteFile):
            before = current(path, "delete")
            ops.append((path, None))
            pending[path] = None
            changes[str(path)] = {"type": "delete", "content": before}
            deleted.append(hunk.path)
        elif isinstance(hunk, UpdateFile):
            before = current(path, "update")
            after = apply_update(str(path), before, hunk.chunks)
            dest = _resolve(cwd, hunk.move_to, writable) if hunk.move_to else None
            ops.append((dest or path, after))
            pending[dest or path] = after
            if dest is not None and dest != path:
                ops.append((path, None))
                pending[path] = None
            changes[str(path)] = {
                "type": "update",
                "unified_diff": unified_diff(before, after),
                "move_path": str(dest) if dest is not None else None,
            }
            modified.append(hunk.move_to or hunk.path)
    return ops, changes, (added, modified, deleted)
