"""The metadata fold: rollout items in, one index row out (Codex section 5.4).

* The first ``session_meta`` decides the thread's identity; a later one counts only when it
  has the same id (a fork copies its source's metas, which must never overwrite the fork).
* ``first_user_message`` (the preview) and ``title`` come from the first ``user_message``
  with text: the ``## My request for Codex:`` prefix stripped, trimmed; an image-only
  message previews as ``[Image]``, and the title is never taken from images. A message
  that is context by ``projections.context``'s table gives neither.
* The session's cwd wins; a ``turn_context`` cwd is used only while it is still empty.
  Model, effort and policies come from the latest ``turn_context``; tokens from the latest
  ``token_count``; the name from the latest ``thread_name_updated``.
* 0.169+ logs: the first ``UserMessage`` item of ``item_completed`` counts as a user
  message; ``recency_at`` is the start of the latest turn (``task_started.started_at``);
  ``first_turn_id`` is the first turn of the thread's own log (what 0.171 reports as the first
  unread turn of a thread it has no read receipts for).
* ``created_at`` is the meta's timestamp with sub-seconds dropped (as Codex stores it, which
  is also what orders listings: whole seconds, then id).

Incremental like the history fold: ``MetadataExtractor.feed`` one item at a time, and
``from_row`` to continue from a stored row when a log has only grown. Pure: the facts of
the log (location, modification time, position, archived) come in as values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from threadlog.events.event_msgs import (
    ItemCompleted,
    TaskStarted,
    ThreadNameUpdated,
    TokenCount,
    UserMessage,
    user_message_of,
)
from threadlog.events.ids import is_thread_id
from threadlog.events.rollout import DynamicToolSpec, RolloutItem, SessionMeta, TurnContext
from threadlog.events.rows import IndexEntry, LogPosition, ThreadRow
from threadlog.events.sources import source_kind, source_to_text
from threadlog.events.timefmt import timestamp_to_ms
from threadlog.projections.context import is_contextual_text

USER_REQUEST_PREFIX: Final = "## My request for Codex:"
DEFAULT_MODEL_PROVIDER: Final = "openai"
IMAGE_PREVIEW: Final = "[Image]"


def strip_user_prefix(text: str) -> str:
    """A user message as a preview: Codex's request prefix removed, trimmed."""
    text = text.strip()
    if text.startswith(USER_REQUEST_PREFIX):
        text = text[len(USER_REQUEST_PREFIX) :]
    return text.strip()


def title_of(event: UserMessage) -> str | None:
    """The title a user message gives: none from context (AGENTS.md, environment…)."""
    if is_contextual_text(event.message):
        return None
    return strip_user_prefix(event.message) or None


def preview_of(event: UserMessage) -> str | None:
    """The preview a user message gives, or None when it gives none."""
    if is_contextual_text(event.message):
        return None
    text = strip_user_prefix(event.message)
    if text:
        return text
    if event.images or event.local_images:
        return IMAGE_PREVIEW
    return None


def whole_seconds_ms(ms: int) -> int:
    """Milliseconds with the sub-second part dropped."""
    return ms - ms % 1000


def _policy_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


class MetadataExtractor:
    """Folds rollout items into a ``IndexEntry``."""

    def __init__(
        self,
        *,
        thread_id: str,
        rollout_path: str,
        created_at_ms: int,
        default_provider: str = DEFAULT_MODEL_PROVIDER,
    ) -> None:
        self.row = ThreadRow(
            id=thread_id,
            rollout_path=rollout_path,
            created_at_ms=whole_seconds_ms(created_at_ms),
            updated_at_ms=whole_seconds_ms(created_at_ms),
        )
        self.dynamic_tools: list[DynamicToolSpec] = []
        self.default_provider = default_provider
        self._identified = False
        # True while a fork's inherited lines are fed: its parent's turns are not its own.
        self.inheriting = False

    @classmethod
    def from_row(
        cls,
        row: ThreadRow,
        dynamic_tools: Iterable[DynamicToolSpec] = (),
        *,
        identified: bool = True,
        default_provider: str = DEFAULT_MODEL_PROVIDER,
    ) -> MetadataExtractor:
        """Continue folding from a stored row.

        ``identified``: the part already folded contained the first ``session_meta``, so a
        later one can no longer change the identity.
        """
        extractor = cls(
            thread_id=row.id,
            rollout_path=row.rollout_path,
            created_at_ms=row.created_at_ms,
            default_provider=default_provider,
        )
        extractor.row = row
        extractor.dynamic_tools = list(dynamic_tools)
        extractor._identified = identified
        return extractor

    @property
    def identified(self) -> bool:
        """Whether a ``session_meta`` of this thread has been folded (a log without one is
        not a thread)."""
        return self._identified

    def _set(self, **changes: Any) -> None:
        self.row = msgspec.structs.replace(self.row, **changes)

    def feed(self, item: RolloutItem) -> None:
        """Apply one rollout item."""
        if isinstance(item, UserMessage):
            self._on_user_message(item)
        elif isinstance(item, TokenCount):
            if item.info is not None:
                self._set(tokens_used=max(0, item.info.total_token_usage.total_tokens))
        elif isinstance(item, TurnContext):
            self._on_turn_context(item)
        elif isinstance(item, SessionMeta):
            self._on_session_meta(item)
        elif isinstance(item, ThreadNameUpdated) and item.thread_name is not None:
            self._set(name=item.thread_name.strip() or None)
        elif isinstance(item, TaskStarted):
            if item.started_at is not None:
                self._set(recency_at_ms=item.started_at * 1000)
            if self.row.first_turn_id is None and not self.inheriting:
                self._set(first_turn_id=item.turn_id)
        elif isinstance(item, ItemCompleted):
            message = user_message_of(item)
            if message is not None:
                self._on_user_message(message)

    def feed_all(self, items: Iterable[RolloutItem]) -> None:
        """Apply many items."""
        for item in items:
            self.feed(item)

    def _on_session_meta(self, meta: SessionMeta) -> None:
        if not is_thread_id(meta.id):
            return  # an id we could not use as a file name is no identity
        if not self._identified:
            self._identified = True
            created = self.row.created_at_ms
            if meta.timestamp:
                with contextlib.suppress(ValueError):
                    created = whole_seconds_ms(timestamp_to_ms(meta.timestamp))
            self._set(id=meta.id.lower(), created_at_ms=created, forked_from_id=meta.forked_from_id)
            if meta.dynamic_tools:
                self.dynamic_tools = list(meta.dynamic_tools)
        elif meta.id.lower() != self.row.id:
            return  # a copied source meta inside a fork
        changes: dict[str, Any] = {
            "source": source_to_text(meta.source),
            "source_kind": source_kind(meta.source),
            "agent_nickname": meta.agent_nickname,
            "agent_role": meta.agent_role,
        }
        if meta.model_provider:
            changes["model_provider"] = meta.model_provider
        if meta.cli_version:
            changes["cli_version"] = meta.cli_version
        if meta.cwd:
            changes["cwd"] = meta.cwd
        if meta.git is not None:
            changes.update(
                git_sha=meta.git.commit_hash,
                git_branch=meta.git.branch,
                git_origin_url=meta.git.repository_url,
            )
        if meta.memory_mode:
            changes["memory_mode"] = meta.memory_mode
        if meta.originator:
            changes["originator"] = meta.originator
        if meta.thread_source is not None:
            changes["thread_source"] = source_to_text(meta.thread_source)
        if isinstance(meta.history_mode, str) and meta.history_mode:
            changes["history_mode"] = meta.history_mode
        if isinstance(meta.session_id, str) and meta.session_id:
            changes["session_id"] = meta.session_id
        self._set(**changes)

    def _on_turn_context(self, context: TurnContext) -> None:
        changes: dict[str, Any] = {
            "model": context.model or None,
            "reasoning_effort": context.effort,
        }
        sandbox = _policy_text(context.sandbox_policy)
        if sandbox is not None:
            changes["sandbox_policy"] = sandbox
        approval = _policy_text(context.approval_policy)
        if approval is not None:
            changes["approval_mode"] = approval
        if not self.row.cwd and context.cwd:
            changes["cwd"] = context.cwd
        self._set(**changes)

    def _on_user_message(self, event: UserMessage) -> None:
        changes: dict[str, Any] = {}
        if not self.row.first_user_message:
            preview = preview_of(event)
            if preview is not None:
                changes["first_user_message"] = preview
        if not self.row.title:
            title = title_of(event)
            if title:
                changes["title"] = title
        if changes:
            self._set(**changes)

    def entry(
        self,
        *,
        updated_at_ms: int | None = None,
        archived: bool | None = None,
        archived_at_ms: int | None = None,
        log_position: LogPosition | None = None,
    ) -> IndexEntry:
        """The row as folded so far, with the facts of its log the caller knows."""
        changes: dict[str, Any] = {}
        if not self.row.model_provider:
            changes["model_provider"] = self.default_provider
        for key, value in (
            ("updated_at_ms", updated_at_ms),
            ("archived", archived),
            ("log_position", log_position),
        ):
            if value is not None:
                changes[key] = value
        if archived is not None:
            changes["archived_at_ms"] = archived_at_ms if archived else None
        row = msgspec.structs.replace(self.row, **changes) if changes else self.row
        return IndexEntry(row=row, dynamic_tools=list(self.dynamic_tools))
