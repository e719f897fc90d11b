"""The history fold on a 100,000-event thread, beside the decode alone of the same bytes.

Run: ``.venv/bin/python bench/fold.py [EVENTS]``. Reports turns/s and MB/s for the fold
(``HistoryBuilder`` fed every decoded item) and for the decode alone, best of three.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gen import thread_lines
from _timing import best_of

from threadlog.events import decode_line
from threadlog.events.ids import new_id
from threadlog.projections.history import HistoryBuilder


def main() -> None:
    """Build one big thread, then time decode and fold."""
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(11)
    lines: list[bytes] = []
    while len(lines) < events:
        lines += thread_lines(rng, "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c", 200, 1_760_000_000_000)[
            1:
        ]
    lines = lines[:events]
    size = sum(map(len, lines))
    items = [decode_line(line).item for line in lines]

    def decode() -> None:
        for line in lines:
            decode_line(line)

    turns = 0

    def fold() -> None:
        nonlocal turns
        builder = HistoryBuilder(new_id)
        for item in items:
            builder.feed(item)
        turns = len(builder.snapshot())

    t_decode = best_of(3, decode)
    t_fold = best_of(3, fold)
    print(f"events: {len(lines):,}  bytes: {size / 1e6:.1f} MB  turns: {turns:,}")
    print(f"decode alone : {size / t_decode / 1e6:8.1f} MB/s  ({t_decode * 1e3:7.1f} ms)")
    print(
        f"fold alone   : {size / t_fold / 1e6:8.1f} MB/s  ({t_fold * 1e3:7.1f} ms)  "
        f"{turns / t_fold:,.0f} turns/s"
    )
    print(f"fold / decode time: {t_fold / t_decode:.2f}  (target < 1)")


if __name__ == "__main__":
    main()
