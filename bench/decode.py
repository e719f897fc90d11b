"""Decode throughput: ``decode_line`` (typed, lossless) beside plain ``msgspec.json.decode``.

Run: ``.venv/bin/python bench/decode.py [MB]``. Both decoders see the same bytes in one run;
the best of three rounds is reported.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gen import rollout_set
from _timing import best_of

from threadlog.events import decode_line


def main() -> None:
    """Generate, decode both ways, print the figures."""
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    lines = rollout_set(megabytes * 1_000_000)
    size = sum(map(len, lines))
    plain = msgspec.json.decode

    def untyped() -> None:
        for line in lines:
            plain(line)

    def typed() -> None:
        for line in lines:
            decode_line(line)

    t_plain = best_of(3, untyped)
    t_typed = best_of(3, typed)
    print(f"lines: {len(lines):,}  bytes: {size / 1e6:.1f} MB")
    print(f"msgspec.json.decode -> dicts : {size / t_plain / 1e6:8.1f} MB/s")
    print(f"events.decode_line (typed)   : {size / t_typed / 1e6:8.1f} MB/s")
    print(f"ratio typed/untyped          : {t_plain / t_typed:8.2f}x  (target >= 0.7x)")


if __name__ == "__main__":
    main()
