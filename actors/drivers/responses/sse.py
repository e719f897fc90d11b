"""Server-sent events framing over byte chunks (pure, incremental).

``SseDecoder.feed(chunk)`` returns the data of every event the chunk completed. Working
on whole chunks, not one line per await, is what lets the driver hand the runtime all the
text deltas of one network read at once: a token a line costs a trio checkpoint a line
otherwise, many times the parse. Only what the Responses API uses of the format is kept:
``data:`` lines (joined by newlines), events separated by a blank line; ``event:``,
``id:``, ``retry:`` and comments are read past (the JSON ``type`` names the event).
"""

from __future__ import annotations

MAX_EVENT_BYTES = 64 * 1024 * 1024


class SseError(ValueError):
    """The stream is not server-sent events, or one event is larger than we accept."""


class SseDecoder:
    """Feed bytes as they arrive; get each complete event's data."""

    def __init__(self, max_event: int = MAX_EVENT_BYTES) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # the buffer before this holds no separator
        self.max_event = max_event

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of the events ``chunk`` completes, in order."""
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
        buffer = self._buffer
        buffer += chunk
        out: list[bytes] = []
        start = 0
        search = max(0, self._scanned - 1)  # a separator may straddle two chunks
        while True:
            end = buffer.find(b"\n\n", search)
            if end < 0:
                break
            data = _data(bytes(buffer[start:end]))
            if data is not None:
                out.append(data)
            start = search = end + 2
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        if len(buffer) > self.max_event:
            raise SseError(f"an event larger than {self.max_event} bytes")
        return out

    def pending(self) -> int:
        """Bytes of an event not yet complete (a stream that ends here was cut)."""
        return len(self._buffer)


def _data(block: bytes) -> bytes | None:
    if block.startswith(b"data: ") and b"\n" not in block:
        return block[6:]  # the usual shape: one data line
    lines = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(lines) if lines else None
