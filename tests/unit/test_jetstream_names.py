"""The JetStream layout's pure parts: the --log URL, locations, chunks."""

from __future__ import annotations

import pytest

from threadlog.store.jetstream_names import (
    chunks,
    location_of,
    message_id,
    parse_location,
    parse_target,
)

TID = "019ca945-0a00-7290-9548-788b704395da"


def test_a_log_url_names_servers_stream_prefix_replicas_and_monitor() -> None:
    target = parse_target(
        "nats://10.0.0.1:4222,10.0.0.2:4222?stream=prod&prefix=team.a&replicas=3"
        "&monitor=http://10.0.0.1:8222"
    )
    assert target.servers == ("nats://10.0.0.1:4222", "nats://10.0.0.2:4222")
    assert (target.stream, target.prefix, target.replicas) == ("prod", "team.a", 3)
    assert target.monitor == "http://10.0.0.1:8222"
    plain = parse_target("nats://127.0.0.1:4222")
    assert (plain.stream, plain.prefix, plain.replicas, plain.monitor) == (
        "threadlog",
        "threadlog",
        1,
        None,
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://x:1", "not a nats://"),
        ("nats://x:1/stream", r"as \?stream="),
        ("nats://x:1?stream=a.b", "stream name"),
        ("nats://x:1?stream=a*", "stream name"),
        ("nats://x:1?prefix=a.>", "subject prefix"),
        ("nats://x:1?prefix=a..b", "subject prefix"),
        ("nats://x:1?replicas=2", "1, 3 or 5"),
        ("nats://x:1?replicas=three", "not a number"),
        ("nats://x:1?monitor=file:///etc", "http"),
        ("nats://x:1?strem=a", "unknown parameter"),
    ],
)
def test_a_bad_log_url_is_refused_saying_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_target(url)


def test_a_location_round_trips_and_nothing_else_parses() -> None:
    where = location_of("prod", TID, 1_772_366_400_000, True)
    found = parse_location(where)
    assert found is not None
    assert (found.stream, found.thread_id, found.archived, found.created_ms) == (
        "prod",
        TID,
        True,
        1_772_366_400_000,
    )
    for other in (
        "/home/u/.codex/sessions/rollout.jsonl",
        where.replace("archived", "elsewhere"),
        where + "/../x",
        where.replace(TID, "../../etc/passwd-0000-0000-0000-00000000"),
    ):
        assert parse_location(other) is None


def test_chunks_cover_a_line_exactly_and_ids_tell_writers_apart() -> None:
    data = bytes(range(256)) * 10
    assert b"".join(chunks(data, 700)) == data
    assert [len(c) for c in chunks(data, 700)] == [700, 700, 700, 460]
    assert chunks(b"short\n", 700) == [b"short\n"]
    assert message_id(TID, "i", 3, "w1") != message_id(TID, "i", 3, "w2")
