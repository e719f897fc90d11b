"""Reading a thread's subject: from a byte position, or a byte range.

A log is the concatenation of its subject's messages, each saying where it starts
(``Tl-Offset``). The message that starts at a position is found by a binary search over the
stream's sequences (``STREAM.MSG.GET`` with ``next_by_subj``, asked of the stream leader:
one request per halving), then the rest is read through an ordered consumer filtered to the
subject. Positions this process wrote or read are remembered, so the index syncer's next
read from where the last one ended starts at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from threadlog.events.rows import LogPosition
from threadlog.store.jetstream_client import JetStreamClient, StoredMsg
from threadlog.store.jetstream_names import CONTINUATION_HEADER, OFFSET_HEADER
from threadlog.store.ports import LogChunk

REMEMBERED: Final = 65_536  # positions kept for the next read


def offset_of(msg: StoredMsg) -> int:
    """Where a message's data starts in its log."""
    return int(msg.headers.get(OFFSET_HEADER, "0"))


def end_of(msg: StoredMsg | None) -> int:
    """Where a message's data ends in its log (0 for no message: an empty log)."""
    return 0 if msg is None else offset_of(msg) + len(msg.data)


class SubjectReads:
    """The reads of one store, and the positions it remembers."""

    def __init__(self, client: JetStreamClient) -> None:
        self.client = client
        self._positions: OrderedDict[tuple[str, str, int], int] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, subject: str, incarnation: str, offset: int, seq: int) -> None:
        """The message ending at ``offset`` has sequence ``seq``: the next read starts after."""
        key = (subject, incarnation, offset)
        with self._lock:
            self._positions[key] = seq
            self._positions.move_to_end(key)
            while len(self._positions) > REMEMBERED:
                self._positions.popitem(last=False)

    async def seek(self, subject: str, hi: int, wanted: Callable[[StoredMsg], bool]) -> StoredMsg:
        """The subject's first message (up to sequence ``hi``) that is ``wanted``; the
        predicate must turn true once and stay true, and hold for the message at ``hi``."""
        lo, best = 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            msg = await self.client.next_from(subject, mid)
            if msg is None or msg.seq > hi:
                hi = mid - 1
            elif wanted(msg):
                best, hi = msg, mid - 1
            else:
                lo = msg.seq + 1
        assert best is not None
        return best

    async def _from(
        self, subject: str, incarnation: str, offset: int, last: StoredMsg
    ) -> list[StoredMsg] | None:
        """The messages from the one starting at ``offset`` to ``last``; None when no line
        starts there."""
        hint = self._positions.get((subject, incarnation, offset))
        if hint is not None:
            first = await self.client.next_from(subject, hint + 1)
        else:
            first = await self.seek(subject, last.seq, lambda m: offset_of(m) >= offset)
        if first is None or offset_of(first) != offset or CONTINUATION_HEADER in first.headers:
            return None
        if first.seq == last.seq:
            return [first]
        return await self.client.read(subject, first.seq, last.seq)

    async def chunk(
        self,
        subject: str,
        incarnation: str,
        identity: str,
        start: LogPosition | None,
        modified_of: Callable[[StoredMsg | None], int],
    ) -> LogChunk:
        """The log's bytes after ``start`` (from the beginning when it is foreign)."""
        last = await self.client.last(subject)
        size = end_of(last)
        modified = modified_of(last)
        if last is None:
            return LogChunk(b"", 0, identity, modified)
        offset = 0
        msgs = None
        if start is not None and start.identity == identity and 0 < start.offset <= size:
            if start.offset == size and last.data.endswith(b"\n"):
                return LogChunk(b"", size, identity, modified)
            msgs = await self._from(subject, incarnation, start.offset, last)
            if msgs is not None:
                offset = start.offset
        if msgs is None:
            msgs = await self.client.read(subject, 1, last.seq)
        self.remember(subject, incarnation, size, last.seq)
        return LogChunk(b"".join(m.data for m in msgs), offset, identity, modified)

    async def part(self, subject: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``: the messages holding them, nothing else."""
        last = await self.client.last(subject)
        if last is None or start >= end_of(last) or start == end:
            return b""
        first = await self.seek(subject, last.seq, lambda m: end_of(m) > start)
        msgs = [first]
        if end_of(first) < end and first.seq < last.seq:
            msgs = await self.client.read(
                subject, first.seq, last.seq, max_bytes=end - offset_of(first)
            )
        data = b"".join(m.data for m in msgs)
        at = start - offset_of(first)
        return data[at : at + end - start]
