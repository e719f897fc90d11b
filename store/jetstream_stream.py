"""The deployment's stream: created when missing, and checked to keep ``fsync``'s promise.

JetStream acknowledges a publish once the stream has it, which on one server is on disk
only when the server runs with ``sync_interval: always`` (nats-server 2.9 never is). The
client protocol does not say how a server syncs, so a single-replica stream is accepted for
``fsync`` only when the server's monitoring ``/varz`` says ``sync_always``; a stream of 3
or more replicas is durable by its quorum.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from threadlog.store.jetstream_client import JetStreamClient
from threadlog.store.jetstream_names import JetStreamTarget


class DurabilityError(RuntimeError):
    """The stream would acknowledge appends that are not yet durable."""


def stream_subjects(prefix: str) -> list[str]:
    """The subjects a deployment's stream holds."""
    return [f"{prefix}.threads.*", f"{prefix}.catalog.*", f"{prefix}.names.*"]


async def ensure_stream(client: JetStreamClient, target: JetStreamTarget) -> dict[str, Any]:
    """The stream's configuration, creating the stream when it does not exist (atomic
    batches on: a long line's chunks land together)."""
    subjects = stream_subjects(target.prefix)
    config = await client.stream_config()
    if config is None:
        return await client.create_stream(subjects, target.replicas)
    missing = set(subjects) - set(config.get("subjects", []))
    if missing:
        raise ValueError(
            f"stream {target.stream} exists but does not hold {sorted(missing)[0]}: "
            "give another ?stream= or ?prefix="
        )
    if not config.get("allow_atomic"):
        await client.update_stream({**config, "allow_atomic": True})
    return config


def check_durable(config: dict[str, Any], target: JetStreamTarget) -> None:
    """Refuse (``DurabilityError``, saying why) a stream whose acks are not durable."""
    replicas = int(config.get("num_replicas", 1))
    if replicas >= 3:
        return
    monitor = target.monitor
    why = (
        f"stream {target.stream} has {replicas} replica(s), and a JetStream server "
        "acknowledges a publish before it is on disk unless it runs with "
        "`sync_interval: always`"
    )
    if monitor is None:
        raise DurabilityError(
            f"{why}; say where its monitoring port is (?monitor=http://HOST:8222) so it "
            "can be checked, use ?replicas=3 on a cluster, or accept the risk with "
            "--durability flush"
        )
    try:
        with urllib.request.urlopen(f"{monitor.rstrip('/')}/varz", timeout=5) as answer:
            varz = json.load(answer)
    except (OSError, ValueError) as exc:
        raise DurabilityError(f"{why}, and {monitor}/varz could not be read: {exc}") from exc
    if not varz.get("jetstream", {}).get("config", {}).get("sync_always"):
        raise DurabilityError(f"{why}, and the server at {monitor} does not")
