"""The Responses driver's pure parts: config, request body, the event stream, failures."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlog.actors.drivers.responses import failures
from threadlog.actors.drivers.responses.config import ConfigError, api_key, resolve
from threadlog.actors.drivers.responses.driver import exec_output
from threadlog.actors.drivers.responses.sse import SseDecoder, SseError
from threadlog.actors.drivers.responses.stream import (
    Completed,
    Failed,
    ItemDone,
    StreamError,
    TextDelta,
    read_event,
)
from threadlog.actors.drivers.responses.wire import input_item, request_body
from threadlog.events.response_items import (
    CustomToolCall,
    FunctionCall,
    InputText,
    Message,
    Reasoning,
    SummaryText,
)
from threadlog.events.rollout import DynamicToolSpec


def test_the_builtin_openai_provider_needs_no_table() -> None:
    config = resolve({})
    assert config.provider.name == "openai"
    assert config.provider.base_url == "https://api.openai.com/v1"
    assert config.provider.env_key == "OPENAI_API_KEY"
    assert (config.provider.request_max_retries, config.provider.stream_max_retries) == (4, 5)


def test_a_provider_table_and_the_flags_over_it() -> None:
    document = {
        "model": "m1",
        "model_provider": "local",
        "model_reasoning_effort": "high",
        "model_providers": {
            "local": {
                "base_url": "http://127.0.0.1:9/v1",
                "query_params": {"api-version": "1"},
                "http_headers": {"x-a": "b"},
                "request_max_retries": 1,
                "stream_idle_timeout_ms": 500,
                "unknown_key": True,
            }
        },
    }
    config = resolve(document, model="m2", base_url="http://127.0.0.1:10/v1")
    assert config.model == "m2" and config.reasoning_effort == "high"
    assert config.provider.name == "local" and config.provider.env_key is None
    assert config.provider.base_url == "http://127.0.0.1:10/v1"
    assert config.provider.query_params == {"api-version": "1"}
    assert config.provider.stream_idle_timeout_ms == 500


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"model_provider": "nowhere"}, "no \\[model_providers.nowhere\\]"),
        ({"model_provider": "x", "model_providers": {"x": {"wire_api": "chat"}}}, "Responses API"),
        ({"model_provider": "x", "model_providers": {"x": {"request_max_retries": -1}}}, "0..100"),
        ({"model_provider": "x", "model_providers": {"x": {"base_url": "ftp://h"}}}, "http"),
        ({"model_provider": "x", "model_providers": {"x": {"stream_max_retries": "many"}}}, "int"),
    ],
)
def test_a_bad_config_is_a_clear_error(document: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        resolve(document)


def test_the_key_comes_from_the_named_variable() -> None:
    provider = resolve({}).provider
    assert api_key(provider, {"OPENAI_API_KEY": " sk-1 "}) == "sk-1"
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        api_key(provider, {})


def test_the_body_has_codexs_keys_and_the_history_as_input() -> None:
    history = [
        Message(role="user", content=[InputText("hi")]),
        Reasoning(summary=[SummaryText("t")], content=None, encrypted_content="enc"),
        FunctionCall(name="exec_command", arguments="{}", call_id="c1"),
    ]
    spec = DynamicToolSpec(name="lookup", description="d", input_schema={"type": "object"})
    body = request_body(
        model="m",
        history=history,
        dynamic_tools=[spec],
        effort=None,
        summary="auto",
        cache_key="t1",
    )
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "t"}],
            "content": None,
            "encrypted_content": "enc",
        },
        {"type": "function_call", "name": "exec_command", "arguments": "{}", "call_id": "c1"},
    ]
    assert [t["name"] for t in body["tools"]] == [
        "exec_command",
        "update_plan",
        "apply_patch",
        "lookup",
    ]
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    json.dumps(body)  # the whole body is plain JSON


def test_a_phase_is_sent_only_when_set() -> None:
    assert "phase" not in input_item(Message(role="assistant", content=[]))
    assert (
        input_item(Message(role="assistant", content=[], phase="commentary"))["phase"]
        == "commentary"
    )


def test_stream_events_map_to_what_the_turn_does() -> None:
    assert read_event(b'{"type":"response.output_text.delta","delta":"he"}') == TextDelta("he")
    done = read_event(
        json.dumps(
            {
                "type": "response.output_item.done",
                "item": {
                    "type": "custom_tool_call",
                    "call_id": "c",
                    "name": "apply_patch",
                    "input": "P",
                },
            }
        )
    )
    assert isinstance(done, ItemDone) and done.item == CustomToolCall(
        call_id="c", name="apply_patch", input="P"
    )
    completed = read_event(
        b'{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":5,"output_tokens":2}}}'
    )
    assert completed == Completed("r", 5, 2)
    failed = read_event(
        b'{"type":"response.failed","response":{"error":{"code":"x","message":"m"}}}'
    )
    assert failed == Failed("x", "m")
    incomplete = read_event(
        b'{"type":"response.incomplete","response":{"incomplete_details":{"reason":"max_output_tokens"}}}'
    )
    assert incomplete == Failed(None, "Incomplete response returned, reason: max_output_tokens")
    assert read_event(b'{"type":"response.created"}') is None


@pytest.mark.parametrize(
    "data",
    [
        b"{oops",
        b"[1]",
        b'{"type":"response.output_item.done"}',
        b'{"type":"response.output_item.done","item":{"type":"function_call"}}',
    ],
)
def test_a_malformed_event_is_a_stream_error(data: bytes) -> None:
    with pytest.raises(StreamError):
        read_event(data)


def test_http_failures_carry_codexs_messages_and_infos() -> None:
    five = failures.http_failure(502, b"", None)
    assert (five.message, five.info, five.retryable) == (
        failures.HIGH_DEMAND,
        "internal_server_error",
        True,
    )
    limited = failures.http_failure(429, b'{"error":{"type":"rate_limit_exceeded"}}', "3")
    assert limited.retry_after == 3.0 and limited.retryable
    assert limited.info == {"response_too_many_failed_attempts": {"http_status_code": 429}}
    usage = failures.http_failure(429, b'{"error":{"type":"usage_limit_reached"}}', None)
    assert (usage.info, usage.retryable) == ("usage_limit_exceeded", False)
    assert failures.http_failure(401, b"no", None).info == "unauthorized"
    bad = failures.http_failure(
        400, b'{"error":{"message":"bad input","code":"context_length_exceeded"}}', None
    )
    assert (bad.message, bad.info) == ("bad input", "context_window_exceeded")
    other = failures.http_failure(404, b"nope", None)
    assert other.info == {"response_stream_connection_failed": {"http_status_code": 404}}
    assert other.message == "unexpected status 404 Not Found: nope"


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert failures.retry_after("2") == 2.0
    assert failures.retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=1767225600.0) == 10.0
    assert failures.retry_after("soon") is None
    assert failures.retry_after(None) is None


def test_backoff_doubles() -> None:
    assert [failures.backoff(n, 1.0) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]


def test_exec_output_has_codexs_shape() -> None:
    text = exec_output(0, "hello-from-shell\nline2\n", 0.0511, "4122d9")
    assert text == (
        "Chunk ID: 4122d9\nWall time: 0.0511 seconds\nProcess exited with code 0\n"
        "Original token count: 6\nOutput:\nhello-from-shell\nline2\n"
    )


def _feed_all(decoder: SseDecoder, data: bytes, size: int) -> list[bytes]:
    out: list[bytes] = []
    for at in range(0, len(data), size):
        out += decoder.feed(data[at : at + size])
    return out


@given(
    st.lists(
        st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=8
    ),
    st.integers(1, 17),
)
def test_sse_framing_does_not_depend_on_how_the_bytes_are_cut(
    payloads: list[bytes], size: int
) -> None:
    data = b"".join(b"event: e\ndata: " + p + b"\n\n" for p in payloads)
    decoder = SseDecoder()
    assert _feed_all(decoder, data, size) == payloads
    assert decoder.pending() == 0


def test_sse_multi_line_data_comments_and_crlf() -> None:
    decoder = SseDecoder()
    data = b": keep-alive\r\n\r\nid: 1\r\ndata: a\r\ndata:b\r\n\r\ndata: tail"
    assert decoder.feed(data) == [b"a\nb"]
    assert decoder.pending() == len(b"data: tail")


def test_an_oversized_event_is_refused() -> None:
    decoder = SseDecoder(max_event=100)
    with pytest.raises(SseError, match="larger than 100"):
        decoder.feed(b"data: " + b"x" * 200)
