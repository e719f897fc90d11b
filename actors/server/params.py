"""Params of the app-server v2 methods threadlog serves, and the v2 spellings it answers in.

msgspec Structs with camelCase names; decoding them validates the params, and a failure is
answered with -32602 ``Invalid params``. Unknown extra fields are ignored, as serde does.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from threadlog.events.ops import ImageUserInput, LocalImageUserInput, TextUserInput, UserInputItem
from threadlog.events.rollout import DynamicToolSpec


class Params(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=False):
    """Base of every params struct."""


class DynamicToolParam(Params, frozen=True):
    """A dynamic tool declared at ``thread/start``."""

    name: str
    description: str = ""
    input_schema: Any = None
    defer_loading: bool = False


class ThreadStartParams(Params, frozen=True):
    """``thread/start``."""

    model: str | None = None
    model_provider: str | None = None
    cwd: str | None = None
    approval_policy: Any = None
    sandbox: str | None = None
    config: Any = None
    base_instructions: str | None = None
    developer_instructions: str | None = None
    personality: str | None = None
    ephemeral: bool | None = None
    dynamic_tools: list[DynamicToolParam] | None = None
    experimental_raw_events: bool | None = None
    persist_extended_history: bool | None = None


class ThreadResumeParams(Params, frozen=True):
    """``thread/resume``."""

    thread_id: str
    path: str | None = None
    history: Any = None
    model: str | None = None
    cwd: str | None = None
    persist_extended_history: bool | None = None


class ThreadForkParams(Params, frozen=True):
    """``thread/fork``."""

    thread_id: str
    path: str | None = None
    cwd: str | None = None
    ephemeral: bool | None = None
    persist_extended_history: bool | None = None


class ThreadReadParams(Params, frozen=True):
    """``thread/read``."""

    thread_id: str
    include_turns: bool = False


class ThreadIdParams(Params, frozen=True):
    """``thread/archive`` and ``thread/unarchive``."""

    thread_id: str


class ThreadSetNameParams(Params, frozen=True):
    """``thread/name/set``."""

    thread_id: str
    name: str


class ThreadRollbackParams(Params, frozen=True):
    """``thread/rollback``."""

    thread_id: str
    num_turns: int


class ThreadRevertParams(Params, frozen=True):
    """``thread/revert`` (0.171)."""

    thread_id: str
    before_turn_id: str


class ThreadLoadedListParams(Params, frozen=True):
    """``thread/loaded/list``."""

    cursor: str | None = None
    limit: int | None = None


class TextInputParam(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    """v2 text input (``text_elements`` keeps Codex's snake_case spelling)."""

    text: str
    text_elements: list[Any] = []


class ImageInputParam(msgspec.Struct, frozen=True, tag_field="type", tag="image"):
    """v2 image input by URL."""

    url: str


class LocalImageInputParam(msgspec.Struct, frozen=True, tag_field="type", tag="localImage"):
    """v2 image input by local path."""

    path: str


class TurnStartParams(Params, frozen=True):
    """``turn/start``."""

    thread_id: str
    input: list[TextInputParam | ImageInputParam | LocalImageInputParam]
    cwd: str | None = None
    approval_policy: Any = None
    sandbox_policy: Any = None
    model: str | None = None
    effort: str | None = None
    summary: str | None = None
    collaboration_mode: Any = None


class TurnInterruptParams(Params, frozen=True):
    """``turn/interrupt``."""

    thread_id: str
    turn_id: str


def to_ops_input(params: TurnStartParams) -> list[UserInputItem]:
    """The v2 input as the ops vocabulary spells it."""
    out: list[UserInputItem] = []
    for item in params.input:
        if isinstance(item, TextInputParam):
            out.append(TextUserInput(item.text, list(item.text_elements)))
        elif isinstance(item, ImageInputParam):
            out.append(ImageUserInput(item.url))
        else:
            out.append(LocalImageUserInput(item.path))
    return out


def dynamic_tool_specs(params: ThreadStartParams) -> list[DynamicToolSpec] | None:
    """The declared dynamic tools, as ``session_meta`` records them."""
    if not params.dynamic_tools:
        return None
    return [
        DynamicToolSpec(
            name=t.name,
            description=t.description,
            input_schema=t.input_schema,
            defer_loading=t.defer_loading,
        )
        for t in params.dynamic_tools
    ]


SANDBOX_MODES: dict[str, dict[str, Any]] = {
    "read-only": {"type": "read-only"},
    "workspace-write": {
        "type": "workspace-write",
        "writable_roots": [],
        "network_access": False,
        "exclude_tmpdir_env_var": False,
        "exclude_slash_tmp": False,
    },
    "danger-full-access": {"type": "danger-full-access"},
}


def sandbox_policy_of(mode: str | None) -> dict[str, Any] | None:
    """The on-disk sandbox policy of a v2 ``sandbox`` mode; ValueError for unknown ones."""
    if mode is None:
        return None
    if mode not in SANDBOX_MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}")
    return dict(SANDBOX_MODES[mode])


_KEBAB_OR_SNAKE = re.compile(r"[-_]([a-z0-9])")


def _camel(text: str) -> str:
    return _KEBAB_OR_SNAKE.sub(lambda m: m.group(1).upper(), text)


def sandbox_to_v2(policy: Any) -> Any:
    """A sandbox policy in the v2 spelling (``{"type": "dangerFullAccess"}``)."""
    if not isinstance(policy, dict):
        return policy
    out: dict[str, Any] = {}
    for key, value in policy.items():
        out[_camel(key)] = _camel(value) if key == "type" and isinstance(value, str) else value
    return out
