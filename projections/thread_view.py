"""The v2 ``Thread`` clients see, built from an index row (pure).

``createdAt``/``updatedAt`` are Unix seconds; ``preview`` is the first user message;
``gitInfo`` is null when nothing about git is known; ``source`` is shown in its v2 spelling.
``sessionId`` is the thread id and ``recencyAt`` the start of its latest turn (its creation
when no turn says), as 0.171 shows them.
"""

from __future__ import annotations

from threadlog.events.rows import ThreadRow
from threadlog.events.sources import source_from_text, source_to_v2
from threadlog.events.views import GitInfoView, NotLoaded, Thread, ThreadStatus, Turn


def thread_view(
    row: ThreadRow,
    *,
    name: str | None = None,
    turns: list[Turn] | None = None,
    status: ThreadStatus | None = None,
    path: str | None = None,
) -> Thread:
    """The ``Thread`` object for a row (``path`` overrides ``row.rollout_path``)."""
    git = None
    if row.git_sha or row.git_branch or row.git_origin_url:
        git = GitInfoView(sha=row.git_sha, branch=row.git_branch, origin_url=row.git_origin_url)
    return Thread(
        id=row.id,
        preview=row.first_user_message,
        model_provider=row.model_provider,
        created_at=row.created_at_ms // 1000,
        updated_at=row.updated_at_ms // 1000,
        status=status if status is not None else NotLoaded(),
        path=path if path is not None else row.rollout_path,
        cwd=row.cwd,
        cli_version=row.cli_version,
        source=source_to_v2(source_from_text(row.source)),
        agent_nickname=row.agent_nickname,
        agent_role=row.agent_role,
        git_info=git,
        name=name,
        turns=turns or [],
        session_id=row.id,
        forked_from_id=row.forked_from_id,
        history_mode=row.history_mode,
        model=row.model,
        reasoning_effort=row.reasoning_effort,
        recency_at=(row.recency_at_ms if row.recency_at_ms is not None else row.created_at_ms)
        // 1000,
        originator=row.originator,
        thread_source=source_from_text(row.thread_source) if row.thread_source else None,
    )
