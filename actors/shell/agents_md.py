"""Reading the AGENTS.md instructions a thread's model is given (the shell side).

Like Codex: the user's own ``$CODEX_HOME/AGENTS.md`` first, then every ``AGENTS.md`` from
the project root (the nearest enclosing git repository, else the cwd alone) down to the
cwd, joined in that order. The total is capped so a huge file cannot flood the prompt;
unreadable or non-UTF-8 files are skipped with a warning, never fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from threadlog.store.lazylog import get_logger

log = get_logger("threadlog.agents_md")
FILE_NAME: Final = "AGENTS.md"
MAX_BYTES: Final = 32 * 1024


def _project_dirs(cwd: Path) -> list[Path]:
    chain = [cwd, *cwd.parents]
    for index, directory in enumerate(chain):
        if (directory / ".git").exists():
            return list(reversed(chain[: index + 1]))
    return [cwd]


def _read(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        text = path.read_bytes()[:MAX_BYTES].decode("utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("agents_md_unreadable", path=str(path), error=str(exc))
        return None
    return text.strip() or None


def agents_md(codex_home: Path, cwd: str) -> str | None:
    """The AGENTS.md instructions for a cwd (None when there are none). Blocking."""
    paths = [codex_home / FILE_NAME]
    base = Path(cwd)
    if base.is_absolute() and base.is_dir():
        paths += [directory / FILE_NAME for directory in _project_dirs(base)]
    parts: list[str] = []
    budget = MAX_BYTES
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            continue
        seen.add(path)
        text = _read(path)
        if text is None or budget <= 0:
            continue
        clipped = text.encode()[:budget].decode("utf-8", errors="ignore")
        budget -= len(clipped.encode())
        parts.append(clipped)
    return "\n\n".join(parts) or None
