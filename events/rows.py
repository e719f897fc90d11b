"""The index's values: a thread's row, where its log was read to, and listing queries.

Times are Unix milliseconds. ``source`` is the on-disk source as the index stores it
(``events.sources.source_to_text``) and ``source_kind`` its flat v2 kind, kept as its own
column so the source filter of a listing is served by an index.

``ThreadRow.log_position`` is how far the metadata fold has read the thread's log. Its
meaning belongs to the log backend (for rollout files: the byte offset after the last
complete line, and the file's inode as its identity), so the index can resume reading a log
that only grew and notice one that was replaced, without any file facts of its own.

A listing is keyset-paginated: a page ends at an ``Anchor`` (the last row's sort value and
id), and the next page starts after it, so a page 90,000 rows deep costs what the first
does. One anchor type serves every index backend and the filesystem fallback; clients see it
only as an opaque cursor (``projections.cursor``).
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from threadlog.events.rollout import DynamicToolSpec

SortKey = Literal["created_at", "updated_at", "recency_at"]
SORT_KEYS: Final[tuple[SortKey, ...]] = ("created_at", "updated_at", "recency_at")
Direction = Literal["asc", "desc"]
MAX_PAGE: Final = 1000


class LogPosition(msgspec.Struct, frozen=True):
    """A position in a thread's log, owned by the log backend that gave it out.

    ``offset`` counts bytes of complete lines before the position; ``identity`` names the
    incarnation of the log it belongs to ("" when unknown), so a position handed back after
    the log was replaced is recognised as foreign instead of misread.
    """

    offset: int = 0
    identity: str = ""


class ThreadRow(msgspec.Struct, frozen=True):
    """One row of the ``threads`` table."""

    id: str
    rollout_path: str
    created_at_ms: int
    updated_at_ms: int
    source: str = "vscode"
    source_kind: str = "vscode"
    model_provider: str = ""
    cwd: str = ""
    title: str = ""
    first_user_message: str = ""
    name: str | None = None
    cli_version: str = ""
    model: str | None = None
    reasoning_effort: str | None = None
    sandbox_policy: str = '{"type":"read-only"}'
    approval_mode: str = "on-request"
    tokens_used: int = 0
    archived: bool = False
    archived_at_ms: int | None = None
    git_sha: str | None = None
    git_branch: str | None = None
    git_origin_url: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    forked_from_id: str | None = None
    memory_mode: str = "enabled"
    # 0.169+ session facts (defaults are what earlier eras mean)
    originator: str = ""
    thread_source: str | None = None
    history_mode: str = "legacy"
    recency_at_ms: int | None = None
    first_turn_id: str | None = None
    # set by 0.169+ metas (which always write it): how a reader tells the era of a thread
    session_id: str | None = None
    log_position: LogPosition = LogPosition()

    def sort_value(self, sort_key: SortKey) -> int:
        """The row's value for a listing sort key (a thread whose turns never started is as
        recent as its creation, as Codex's ``recency_at`` starts out)."""
        if sort_key == "created_at":
            return self.created_at_ms
        if sort_key == "updated_at":
            return self.updated_at_ms
        return self.created_at_ms if self.recency_at_ms is None else self.recency_at_ms


class TurnSpan(msgspec.Struct, frozen=True):
    """Where one turn's lines are: bytes ``[start_offset, end_offset)`` of one log.

    A fork's inherited turns are spans of its parent's log. ``ordinal`` is the ordinal of
    the turn's ``task_started`` line (None in logs without ordinals); ``end_offset`` is
    None while the turn is still open.
    """

    turn_id: str
    log_location: str
    start_offset: int
    end_offset: int | None = None
    ordinal: int | None = None


class TurnIndexState(msgspec.Struct, frozen=True):
    """What the index knows of a thread's turns without reading them.

    ``count`` spans, ``unordered`` of them without an ordinal, folded through ``position``
    of the log; ``last`` is the last span (the one a resumed fold may still close). Spans
    are current only while the log is at ``position``: the row may be kept up to date by
    writers that do not fold turns (a live thread's metadata).
    """

    count: int
    unordered: int
    position: LogPosition
    last: TurnSpan | None = None


class IndexEntry(msgspec.Struct, frozen=True):
    """A row, the dynamic tools its first ``session_meta`` declared, and its turns.

    ``turns`` replace the stored spans from position ``turns_from`` on (a fold that resumed
    sends only the spans it changed or added); None means "not known here" (the stored
    spans stay as they are).
    """

    row: ThreadRow
    dynamic_tools: list[DynamicToolSpec] = []
    turns: list[TurnSpan] | None = None
    turns_from: int = 0


class AnchorError(ValueError):
    """An anchor that does not belong to the listing it was given to."""


class Anchor(msgspec.Struct, frozen=True):
    """The last row of a page: where the next page starts (exclusive)."""

    sort_key: SortKey
    value_ms: int
    thread_id: str

    @classmethod
    def after(cls, row: ThreadRow, sort_key: SortKey) -> Anchor:
        """The anchor that continues a listing after ``row``."""
        return cls(sort_key, row.sort_value(sort_key), row.id)


class ThreadQuery(msgspec.Struct, frozen=True):
    """What to list, in which order, from where (every index backend answers the same)."""

    sort_key: SortKey = "created_at"
    direction: Direction = "desc"
    limit: int = 25
    anchor: Anchor | None = None
    archived: bool = False
    model_providers: tuple[str, ...] = ()
    # None lists every source; an empty tuple matches nothing.
    source_kinds: tuple[str, ...] | None = None
    cwd: str | None = None
    # a substring of the title or of the name
    search: str | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` (``AnchorError`` for a foreign anchor) before any query runs."""
        if self.sort_key not in SORT_KEYS or self.direction not in ("asc", "desc"):
            raise ValueError(f"bad sort {self.sort_key!r} {self.direction!r}")
        if not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        if self.anchor is not None and self.anchor.sort_key != self.sort_key:
            raise AnchorError(
                f"anchor is for sort key {self.anchor.sort_key!r}, "
                f"listing sorts by {self.sort_key!r}"
            )

    def matches(self, row: ThreadRow) -> bool:
        """Whether ``row`` belongs in this listing (rows without a user message never do)."""
        if row.archived != self.archived or not row.first_user_message:
            return False
        if self.model_providers and row.model_provider not in self.model_providers:
            return False
        if self.source_kinds is not None and row.source_kind not in self.source_kinds:
            return False
        if self.cwd is not None and row.cwd != self.cwd:
            return False
        if not self.search:
            return True
        return self.search in row.title or (row.name is not None and self.search in row.name)

    def after_anchor(self, row: ThreadRow) -> bool:
        """Whether ``row`` comes after the anchor in this listing's order."""
        if self.anchor is None:
            return True
        key = (row.sort_value(self.sort_key), row.id)
        anchor = (self.anchor.value_ms, self.anchor.thread_id)
        return key < anchor if self.direction == "desc" else key > anchor


class ThreadPage(msgspec.Struct, frozen=True):
    """A page of rows and the anchor of the next page (None on the last page)."""

    rows: list[ThreadRow]
    next_anchor: Anchor | None
