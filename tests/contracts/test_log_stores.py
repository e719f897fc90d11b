"""Every log store passes the log contract: the rollout files, JetStream, and memory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.nats import log_url
from threadlog.store.files import FileLogStore
from threadlog.store.jetstream_client import JetStreamClient
from threadlog.store.jetstream_log import JetStreamLogStore
from threadlog.store.jetstream_names import JetStreamTarget, parse_target
from threadlog.store.memory import MemoryLogStore
from threadlog.store.nats_link import NatsLink
from threadlog.store.ports import LogRef, LogStore
from threadlog.testing.contracts import LogStoreContract


class TestFileLogStore(LogStoreContract):
    def make_store(self, root: Path) -> LogStore:
        return FileLogStore(root)

    def reopen(self, store: LogStore, root: Path) -> LogStore:
        return FileLogStore(root)

    def tear(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        with open(ref.location, "ab") as stream:
            stream.write(data)

    def replace(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        fresh = Path(ref.location + ".new")
        fresh.write_bytes(data)
        os.replace(fresh, ref.location)  # same name, another inode

    def add_segment(self, store: LogStore, ref: LogRef, data: bytes) -> LogRef | None:
        # Codex names a thread's later file rollout-<time>-<thread id>_<uuid>.jsonl.
        path = Path(ref.location)
        later = path.with_name(f"rollout-2099-01-01T00-00-00-{ref.thread_id}_{uuid.uuid4()}.jsonl")
        later.write_bytes(data)
        assert isinstance(store, FileLogStore)
        return store.ref_of(later)


class TestMemoryLogStore(LogStoreContract):
    def make_store(self, root: Path) -> LogStore:
        return MemoryLogStore()

    def tear(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        assert isinstance(store, MemoryLogStore)
        store.append_raw(ref, data)

    def replace(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        assert isinstance(store, MemoryLogStore)
        store.replace(ref, data)


class TestJetStreamLogStore(LogStoreContract):
    """The real nats-server (syncing every write), one stream per store."""

    link: Any = None
    server: tuple[str, str] = ("", "")
    streams: dict[str, JetStreamTarget] = {}

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _server(cls, nats_server_info: tuple[str, str]) -> Iterator[None]:
        cls.server = nats_server_info
        cls.link = NatsLink((nats_server_info[0],))
        cls.streams = {}
        yield
        for target in cls.streams.values():
            cls.link.call(JetStreamClient(cls.link.nc, target.stream).api(
                f"STREAM.DELETE.{target.stream}"
            ))  # fmt: skip
        cls.link.close()

    def make_store(self, root: Path) -> LogStore:
        target = parse_target(log_url(self.server))
        self.streams[str(root)] = target
        return JetStreamLogStore(target, link=self.link)

    def reopen(self, store: LogStore, root: Path) -> LogStore:
        return JetStreamLogStore(self.streams[str(root)], link=self.link)

    def tear(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        assert isinstance(store, JetStreamLogStore)
        store.publish_raw(ref, data)

    def replace(self, store: LogStore, ref: LogRef, data: bytes) -> None:
        assert isinstance(store, JetStreamLogStore)
        store.replace(ref, data)
