"""The JetStream log beyond the contract: big lines, the fence, lost acks, durability, faults.

Real nats-server processes throughout (the session's, or ones started here for a fault).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.nats import NatsCluster, NatsServer, fresh_stream, log_url
from threadlog.store.jetstream_client import JetStreamClient
from threadlog.store.jetstream_log import JetStreamLogStore
from threadlog.store.jetstream_stream import DurabilityError
from threadlog.store.ports import PositionConflictError
from threadlog.testing.contracts.log_store import CREATED, LogStoreContract, line

new_id = LogStoreContract.new_id


@pytest.fixture
def log_target(nats_server_info: tuple[str, str]) -> str:
    return log_url(nats_server_info)


@pytest.fixture
def store(log_target: str) -> Iterator[JetStreamLogStore]:
    opened = JetStreamLogStore(log_target)
    yield opened
    opened.close()


def contents(store: JetStreamLogStore, thread_id: str) -> list[bytes]:
    ref = store.locate(thread_id)
    assert ref is not None
    return [r.line.raw or b"" for r in store.read_lines(ref)]


class Appender:
    """A thread appending numbered lines to one writer until told to stop (and at least
    ``minimum``), keeping what was acknowledged and any failure."""

    def __init__(self, writer: Any, prefix: str, minimum: int) -> None:
        self.writer, self.prefix, self.minimum = writer, prefix, minimum
        self.acked: list[bytes] = []
        self.failures: list[BaseException] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self.done.is_set() or n < self.minimum:
            try:
                self.writer.append(line(f"{self.prefix}{n}"))
            except BaseException as exc:  # the test reports it
                self.failures.append(exc)
                return
            self.acked.append(line(f"{self.prefix}{n}"))
            n += 1

    def wait_for(self, count: int) -> None:
        while len(self.acked) < count and self.thread.is_alive():
            threading.Event().wait(0.01)

    def finish(self) -> list[bytes]:
        """Stop, and the acknowledged lines (asserting nothing failed)."""
        self.done.set()
        self.thread.join(timeout=120)
        self.writer.close()
        assert self.failures == [] and len(self.acked) >= self.minimum
        return self.acked


def test_a_line_larger_than_a_message_is_cut_into_chunks_and_read_whole(
    store: JetStreamLogStore,
) -> None:
    big = line("x" * (3 * 1024 * 1024))  # three times the server's max payload
    ref = store.allocate(new_id(), CREATED)
    writer = store.open_writer(ref)
    try:
        after_big = writer.append([line("a"), big])
        end = writer.append(line("b"))
    finally:
        writer.close()
    assert end.offset == len(line("a")) + len(big) + len(line("b"))
    assert contents(store, ref.thread_id) == [line("a")[:-1], big[:-1], line("b")[:-1]]
    assert store.read_bytes(ref, after_big).data == line("b")
    start = len(line("a")) + 2 * 1024 * 1024  # inside the big line's third chunk
    assert store.read_range(ref, start, start + 10) == big[start - len(line("a")) :][:10]
    inside = type(after_big)(start, after_big.identity)  # not a line's start: foreign
    assert store.read_bytes(ref, inside).offset == 0


def test_a_second_host_fences_out_the_first_writer(log_target: str) -> None:
    host_a, host_b = JetStreamLogStore(log_target), JetStreamLogStore(log_target)
    try:
        ref = host_a.allocate(new_id(), CREATED)
        old = host_a.open_writer(ref)
        old.append(line("a1"))
        new = host_b.open_writer(ref)  # another process: only the sequence fence stops A
        new.append(line("b1"))
        with pytest.raises(PositionConflictError, match="another writer"):
            old.append([line("a2"), line("a3")])
        new.append(line("b2"))
        new.close()
        old.close()
        assert contents(host_b, ref.thread_id) == [
            line("a1")[:-1],
            line("b1")[:-1],
            line("b2")[:-1],
        ]
    finally:
        host_a.close()
        host_b.close()


def test_of_twenty_racing_writers_exactly_one_appends(log_target: str) -> None:
    hosts = [JetStreamLogStore(log_target) for _ in range(20)]
    try:
        ref = hosts[0].allocate(new_id(), CREATED)
        first = hosts[0].open_writer(ref)
        first.append(line("start"))
        first.close()
        writers = [h.open_writer(ref) for h in hosts]  # all at the same end
        go = threading.Barrier(len(writers))
        won: list[int] = []
        lost: list[int] = []

        def race(n: int) -> None:
            go.wait()
            try:
                writers[n].append(line(f"w{n}"))
                won.append(n)
            except PositionConflictError:
                lost.append(n)

        threads = [threading.Thread(target=race, args=(n,)) for n in range(len(writers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and len(lost) == 19
        assert contents(hosts[0], ref.thread_id) == [
            line("start")[:-1],
            line(f"w{won[0]}")[:-1],
        ]
    finally:
        for h in hosts:
            h.close()


def test_an_append_whose_ack_was_lost_is_retried_not_doubled(
    store: JetStreamLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = store.allocate(new_id(), CREATED)
    writer = store.open_writer(ref)
    real = JetStreamClient.publish
    lost = {"single": 0, "batch": 0}

    async def publish_then_lose_the_ack(self: JetStreamClient, *args: Any) -> Any:
        answer = await real(self, *args)  # it lands on the server ...
        kind = "single" if len(args[1]) == 1 else "batch"
        if not lost[kind]:
            lost[kind] += 1
            raise TimeoutError("the ack was lost")  # ... and the writer never hears
        return answer

    monkeypatch.setattr(JetStreamClient, "publish", publish_then_lose_the_ack)
    big = line("y" * (2 * 1024 * 1024))  # its chunks go as one atomic batch
    try:
        writer.append(line("once"))
        end = writer.append([line("two"), big])
        writer.append(line("after"), expected=end)
    finally:
        writer.close()
    assert lost == {"single": 1, "batch": 1}
    assert contents(store, ref.thread_id) == [
        line("once")[:-1],
        line("two")[:-1],
        big[:-1],
        line("after")[:-1],
    ]


def test_fsync_is_refused_where_an_ack_does_not_mean_on_disk(
    nats_server_info: tuple[str, str],
) -> None:
    lazy = NatsServer(sync_always=False)  # the default: syncs every two minutes
    lazy.start()
    try:
        url = f"{lazy.url}?stream={fresh_stream()}"
        with pytest.raises(DurabilityError, match="sync_interval: always"):
            JetStreamLogStore(f"{url}&monitor={lazy.monitor}")
        with pytest.raises(DurabilityError, match=r"\?monitor="):
            JetStreamLogStore(url)  # nothing says how the server syncs: not assumed
        JetStreamLogStore(url, durability="flush").close()  # asked for less, accepted
    finally:
        lazy.remove()
    JetStreamLogStore(log_url(nats_server_info)).close()  # sync_always: accepted


def test_appends_go_on_across_a_killed_and_restarted_server() -> None:
    server = NatsServer()
    server.start()
    try:
        store = JetStreamLogStore(log_url((server.url, server.monitor)))
        ref = store.allocate(new_id(), CREATED)
        appender = Appender(store.open_writer(ref), "n", 200)
        appender.wait_for(100)
        server.kill()  # SIGKILL mid-append
        server.start()  # same store directory, same port
        acked = appender.finish()
        again = JetStreamLogStore(log_url((server.url, server.monitor), store.target.stream))
        assert contents(again, ref.thread_id) == [a[:-1] for a in acked]  # all, once, in order
        again.close()
        store.close()
    finally:
        server.remove()


def test_an_r3_stream_loses_its_leader_and_appends_go_on() -> None:
    cluster = NatsCluster()
    cluster.start()
    try:
        url = cluster.url + f"?stream={fresh_stream()}&replicas=3"
        store = JetStreamLogStore(url)  # R3: durable without asking how servers sync
        ref = store.allocate(new_id(), CREATED)
        appender = Appender(store.open_writer(ref), "r", 150)
        appender.wait_for(50)
        info = store.link.call(store.client.api(f"STREAM.INFO.{store.target.stream}"))
        leader = (info.cluster or {}).get("leader")
        node = next(n for n in cluster.nodes if n.name == leader)
        node.kill()  # the stream's leader, mid-append
        acked = appender.finish()
        rest = ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes if n is not node)
        again = JetStreamLogStore(f"nats://{rest}?stream={store.target.stream}&replicas=3")
        assert contents(again, ref.thread_id) == [a[:-1] for a in acked]  # all, once, in order
        again.close()
        store.close()
    finally:
        cluster.remove()


def test_a_chained_append_interrupted_by_another_publish_still_lands_whole(
    store: JetStreamLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = store.allocate(new_id(), CREATED)
    writer = store.open_writer(ref)
    other = store.allocate(new_id(1), CREATED)
    other_subject = store.subject_of(other.thread_id)
    real = JetStreamClient.publish
    cut_in: list[str] = []

    async def another_publish_first(self: JetStreamClient, subject: str, *args: Any) -> Any:
        headers = args[1][0]
        if "Nats-Expected-Last-Msg-Id" in headers and not cut_in:
            cut_in.append(headers["Nats-Expected-Last-Msg-Id"])  # another host's message
            await real(self, other_subject, [line("elsewhere")], [{"Tl-Offset": "0"}])
        return await real(self, subject, *args)

    monkeypatch.setattr(JetStreamClient, "publish", another_publish_first)
    try:
        end = writer.append([line("one"), line("two"), line("three")])
        writer.append([line("four"), line("five")], expected=end)
    finally:
        writer.close()
    assert len(cut_in) == 1  # the chain was broken, and the rest went one by one
    assert contents(store, ref.thread_id) == [
        line(t)[:-1] for t in ("one", "two", "three", "four", "five")
    ]


def test_a_chained_append_whose_acks_were_lost_is_not_doubled(
    store: JetStreamLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = store.allocate(new_id(), CREATED)
    writer = store.open_writer(ref)
    real = JetStreamClient.publish
    lost: list[str] = []

    async def lose_the_middle_acks(self: JetStreamClient, *args: Any) -> Any:
        answer = await real(self, *args)
        if "Nats-Expected-Last-Msg-Id" in args[2][0] and len(lost) < 2:
            lost.append(args[2][0]["Nats-Msg-Id"])
            raise TimeoutError("the ack was lost")
        return answer

    monkeypatch.setattr(JetStreamClient, "publish", lose_the_middle_acks)
    try:
        end = writer.append([line("a"), line("b"), line("c"), line("d")])
        writer.append(line("e"), expected=end)
    finally:
        writer.close()
    assert len(lost) == 2
    assert contents(store, ref.thread_id) == [line(t)[:-1] for t in "abcde"]
