"""Realistic rollout bytes made by our own writer, shared by the benchmarks.

Sizes follow what real homes hold: most bytes are response items (tool output, encrypted
reasoning, assistant text); events are a minority of the bytes but many of the lines.
"""

from __future__ import annotations

import random

from threadlog.events import RolloutLine, SessionMeta, TurnContext, encode_line
from threadlog.events.event_msgs import (
    AgentMessage,
    AgentReasoning,
    TaskComplete,
    TaskStarted,
    TokenCount,
    TokenUsage,
    TokenUsageInfo,
    UserMessage,
)
from threadlog.events.ids import Uuid7Generator
from threadlog.events.response_items import (
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Message,
    OutputText,
    Reasoning,
    SummaryText,
)
from threadlog.events.timefmt import format_timestamp_ms

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "that",
    "with",
    "as",
    "it",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n // 4))


def thread_lines(rng: random.Random, thread_id: str, turns: int, start_ms: int) -> list[bytes]:
    """One thread: a session_meta, then ``turns`` turns of realistic items, encoded."""
    new_id = Uuid7Generator(clock_ms=lambda: start_ms, random_bytes=rng.randbytes)
    ms = start_ms
    out: list[bytes] = []

    def emit(item: object) -> None:
        nonlocal ms
        ms += rng.randint(1, 400)
        out.append(encode_line(RolloutLine(format_timestamp_ms(ms), item)))  # type: ignore[arg-type]

    emit(
        SessionMeta(
            id=thread_id,
            timestamp=format_timestamp_ms(ms),
            cwd="/home/u/proj",
            originator="threadlog_bench",
            cli_version="0.105.0",
            source="cli",
            model_provider="openai",
            base_instructions={"text": _text(rng, 8000)},
        )
    )
    usage = 0
    for _ in range(turns):
        turn_id = new_id()
        prompt = _text(rng, rng.randint(40, 400))
        emit(TaskStarted(turn_id=turn_id, model_context_window=272000))
        emit(TurnContext(cwd="/home/u/proj", turn_id=turn_id, model="gpt-5", effort="medium"))
        emit(Message(role="user", content=[InputText(prompt)]))
        emit(UserMessage(message=prompt))
        for call in range(rng.randint(1, 6)):
            reasoning = _text(rng, 200)
            emit(AgentReasoning(text=reasoning))
            emit(
                Reasoning(
                    summary=[SummaryText(reasoning)],
                    encrypted_content=rng.randbytes(rng.randint(1500, 6000)).hex(),
                )
            )
            call_id = f"call_{turn_id[-8:]}_{call}"
            emit(FunctionCall(name="shell", arguments='{"command":["ls","-la"]}', call_id=call_id))
            emit(FunctionCallOutput(call_id=call_id, output=_text(rng, rng.randint(500, 12000))))
            usage += rng.randint(1000, 9000)
            emit(TokenCount(info=TokenUsageInfo(total_token_usage=TokenUsage(total_tokens=usage))))
        answer = _text(rng, rng.randint(100, 2000))
        emit(AgentMessage(message=answer))
        emit(Message(role="assistant", content=[OutputText(answer)]))
        emit(TaskComplete(turn_id=turn_id, last_agent_message=answer))
    return out


def rollout_set(total_bytes: int, seed: int = 7) -> list[bytes]:
    """Lines of many threads, about ``total_bytes`` in all."""
    rng = random.Random(seed)
    gen = Uuid7Generator(clock_ms=lambda: 1_760_000_000_000, random_bytes=rng.randbytes)
    lines: list[bytes] = []
    size = 0
    while size < total_bytes:
        batch = thread_lines(rng, gen(), rng.randint(1, 12), 1_760_000_000_000)
        lines.extend(batch)
        size += sum(map(len, batch))
    return lines
