"""Child process for the crash tests: append numbered lines in fsync mode, ack each one.

Usage: python -m tests.support.crash_child PATH FIRST COUNT
Prints ``ack N`` (flushed) after the append of line N returned.
"""

from __future__ import annotations

import sys
from pathlib import Path

from threadlog.store.appender import RolloutAppender


def line(n: int) -> bytes:
    """The bytes of numbered line ``n`` (a valid rollout line)."""
    return (
        b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":'
        b'{"type":"agent_message","message":"line ' + str(n).encode() + b'"}}\n'
    )


def main() -> None:
    """Append and acknowledge until killed or done."""
    path, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    out = sys.stdout
    with RolloutAppender(path, durability="fsync") as appender:
        out.write("ready\n")
        out.flush()
        for n in range(first, first + count):
            appender.append(line(n))
            out.write(f"ack {n}\n")
            out.flush()


if __name__ == "__main__":
    main()
