"""``serve --transcript FILE``: every JSON-RPC message in and out, one JSON line each.

For looking at what a client and threadlog said to each other (the way Codex's own
transcript in the corpus was made), and for the tests that validate every message serve
sends against the protocol's JSON schema. Each line is ``{"conn": N, "dir": "in"|"out",
"line": TEXT}``: the message exactly as it crossed the wire, as a string, so a hostile line
that is not JSON is recorded as faithfully as a good one.

The file is appended with one ``write`` per message and no buffering: a message sent is
in the file even if the server is killed right after. It is a debugging aid, written from
the event loop; a slow disk slows the session that records to it.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Literal

import msgspec

Direction = Literal["in", "out"]


class TranscriptLine(msgspec.Struct, frozen=True):
    """One message as it crossed one connection."""

    conn: int
    dir: Direction
    line: str


class Transcript:
    """The shared transcript file; each connection records through its own number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._numbers = itertools.count(1)
        self._encoder = msgspec.json.Encoder()

    def connection(self) -> ConnectionTranscript:
        """A recorder for a new connection (numbered in order of arrival)."""
        return ConnectionTranscript(self, next(self._numbers))

    def write(self, conn: int, direction: Direction, data: bytes) -> None:
        """Append one message (its trailing newline is not part of it)."""
        text = data.rstrip(b"\n").decode("utf-8", "replace")
        os.write(self._fd, self._encoder.encode(TranscriptLine(conn, direction, text)) + b"\n")

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


class ConnectionTranscript:
    """What one connection records."""

    def __init__(self, transcript: Transcript, number: int) -> None:
        self.transcript = transcript
        self.number = number

    def record(self, direction: Direction, data: bytes) -> None:
        """Append one message of this connection."""
        self.transcript.write(self.number, direction, data)


def read_transcript(path: Path) -> list[TranscriptLine]:
    """The lines of a transcript file, in order."""
    decoder = msgspec.json.Decoder(TranscriptLine)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line]
