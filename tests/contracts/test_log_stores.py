"""Every log store passes the log contract: the rollout files and the in-memory store."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from threadlog.store.files import FileLogStore
from threadlog.store.memory import MemoryLogStore
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
