"""One Responses API request, built as Codex builds it (pure).

The body has Codex's top-level keys (``model``, ``instructions``, ``input``, ``tools``,
``tool_choice``, ``parallel_tool_calls``, ``reasoning``, ``store: false``,
``stream: true``, ``include: ["reasoning.encrypted_content"]``, ``prompt_cache_key``).
``input`` is the model-visible history the runtime keeps, so a request after a tool call
carries the call and its output exactly as the log has them. With ``store: false`` the
server keeps nothing between requests: reasoning goes back with its encrypted content.
The tools are the shell (``exec_command``, as Codex 0.105 offers it), ``apply_patch`` as a
freeform tool with its grammar, ``update_plan``, and the thread's dynamic tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from threadlog.events.response_items import GhostSnapshot, ResponseItem
from threadlog.events.rollout import DynamicToolSpec

INSTRUCTIONS = """You are a coding agent running in threadlog, a runtime that speaks the \
Codex protocol. You and the user share one workspace.

- Use the exec_command tool to run shell commands in the working directory; read its output \
before deciding what to do next.
- Use the apply_patch tool to create, change, move or delete files. Send the patch itself \
(not JSON): it starts with "*** Begin Patch" and ends with "*** End Patch".
- Keep the user informed briefly; answer with a final message when the task is done."""

SHELL_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a shell command (bash -lc) and return its exit code and output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "cmd": {"type": "string", "description": "The shell command to run."},
            "workdir": {
                "type": "string",
                "description": "Directory to run in; the thread's working directory if absent.",
            },
            "yield_time_ms": {
                "type": "number",
                "description": "Milliseconds to wait for the command before it is stopped.",
            },
            "max_output_tokens": {
                "type": "number",
                "description": "At most this many tokens of output come back.",
            },
        },
        "required": ["cmd"],
        "additionalProperties": False,
    },
}

# The patch language as a Lark grammar: the model's sampler is held to it.
PATCH_GRAMMAR = r"""start: "*** Begin Patch" NL operation+ "*** End Patch" NL?
operation: add_file | delete_file | update_file
add_file: "*** Add File: " PATH NL plus_line+
delete_file: "*** Delete File: " PATH NL
update_file: "*** Update File: " PATH NL move_to? section+
move_to: "*** Move to: " PATH NL
section: anchor? diff_line+ end_of_file?
anchor: "@@" (" " TEXT)? NL
diff_line: (" " | "-" | "+") TEXT? NL
plus_line: "+" TEXT? NL
end_of_file: "*** End of File" NL
PATH: /[^\n]+/
TEXT: /[^\n]+/
NL: "\n"
"""

APPLY_PATCH_TOOL: dict[str, Any] = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch. This is a freeform tool: send the patch text "
    "itself, not JSON.",
    "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
}

PLAN_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "update_plan",
    "description": "Record the task's plan: steps, each pending, in_progress or completed "
    "(at most one in_progress).",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "explanation": {"type": "string"},
            "plan": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {
                            "type": "string",
                            "description": "pending, in_progress or completed",
                        },
                    },
                    "required": ["step", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["plan"],
        "additionalProperties": False,
    },
}

_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def dynamic_tool(spec: DynamicToolSpec) -> dict[str, Any]:
    """A thread's dynamic tool as a function tool (the client runs it)."""
    schema = spec.input_schema if isinstance(spec.input_schema, dict) else _EMPTY_SCHEMA
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "strict": False,
        "parameters": schema,
    }


def tools(dynamic: Sequence[DynamicToolSpec]) -> list[dict[str, Any]]:
    """Every tool of a request: the built-in ones, then the thread's dynamic tools."""
    return [SHELL_TOOL, PLAN_TOOL, APPLY_PATCH_TOOL, *(dynamic_tool(d) for d in dynamic)]


# Codex leaves these out of an item when unset; reasoning keeps its nulls (Codex sends them).
_KEEP_NULL = {"content", "encrypted_content"}


def input_item(item: ResponseItem) -> dict[str, Any]:
    """One history item as the wire carries it (unset optional fields dropped)."""
    data: dict[str, Any] = msgspec.to_builtins(item)
    keep = _KEEP_NULL if data.get("type") == "reasoning" else set()
    return {k: v for k, v in data.items() if v is not None or k in keep}


def request_body(
    *,
    model: str,
    history: Sequence[ResponseItem],
    dynamic_tools: Sequence[DynamicToolSpec],
    effort: str | None,
    summary: str,
    cache_key: str,
    instructions: str = INSTRUCTIONS,
) -> dict[str, Any]:
    """The JSON body of one ``POST /responses``."""
    return {
        "model": model,
        "instructions": instructions,
        "input": [input_item(i) for i in history if not isinstance(i, GhostSnapshot)],
        "tools": tools(dynamic_tools),
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": effort or "medium", "summary": summary},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": cache_key,
    }
