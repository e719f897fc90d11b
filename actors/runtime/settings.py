"""What a thread's turns run with: the model, the cwd and the policies (per turn overridable)."""

from __future__ import annotations

from typing import Any

import msgspec


class ThreadSettings(msgspec.Struct, frozen=True):
    """What a thread's turns run with (overridable per turn)."""

    cwd: str
    model: str = "scripted"
    model_provider: str = "threadlog"
    approval_policy: Any = "never"
    sandbox_policy: Any = msgspec.field(default_factory=lambda: {"type": "danger-full-access"})
    effort: str | None = None
    summary: str | None = "auto"
    collaboration_mode: str = "default"
    developer_instructions: str | None = None
