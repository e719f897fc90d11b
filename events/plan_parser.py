"""The streaming ``<proposed_plan>`` tag parser (Codex's ``TaggedLineParser`` /
``ProposedPlanParser``).

Fed assistant-text deltas of any size, it splits them into normal text and plan-block
segments. A tag counts only when it stands alone on its line (surrounding whitespace
allowed); tags do not nest. While a line could still turn out to be a tag it is held back,
so the segments are the same however the text is cut into deltas (after merging adjacent
segments of one kind). ``finish`` flushes a held line and closes a block left open.
Pure: no I/O, no trio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

OPEN_TAG: Final = "<proposed_plan>"
CLOSE_TAG: Final = "</proposed_plan>"


class Normal(msgspec.Struct, frozen=True):
    """Text outside a plan block."""

    text: str


class PlanStart(msgspec.Struct, frozen=True):
    """A plan block opened."""


class PlanDelta(msgspec.Struct, frozen=True):
    """Text inside a plan block."""

    text: str


class PlanEnd(msgspec.Struct, frozen=True):
    """A plan block closed (explicitly, or by ``finish``)."""


Segment = Normal | PlanStart | PlanDelta | PlanEnd


def merge_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Merge adjacent text segments of one kind and drop empty ones."""
    merged: list[Segment] = []
    for seg in segments:
        if isinstance(seg, Normal | PlanDelta):
            if not seg.text:
                continue
            last = merged[-1] if merged else None
            if isinstance(last, Normal) and isinstance(seg, Normal):
                merged[-1] = Normal(last.text + seg.text)
                continue
            if isinstance(last, PlanDelta) and isinstance(seg, PlanDelta):
                merged[-1] = PlanDelta(last.text + seg.text)
                continue
        merged.append(seg)
    return merged


class ProposedPlanParser:
    """Incremental parser: ``parse(delta)`` any number of times, then ``finish()``."""

    def __init__(self) -> None:
        self._line = ""
        self._detect = True
        self._active = False
        self._run: list[str] = []
        self._out: list[Segment] = []

    def _text(self, text: str) -> None:
        if text:
            self._out.append(PlanDelta(text) if self._active else Normal(text))

    def _flush_run(self) -> None:
        if self._run:
            self._text("".join(self._run))
            self._run = []

    def _could_be_tag(self, candidate: str) -> bool:
        return not candidate or OPEN_TAG.startswith(candidate) or CLOSE_TAG.startswith(candidate)

    def _end_of_tag_line(self, line: str) -> bool:
        """Act on a complete held line if it is a tag; True when it was one."""
        stripped = line.strip()
        if stripped == OPEN_TAG and not self._active:
            self._out.append(PlanStart())
            self._active = True
            return True
        if stripped == CLOSE_TAG and self._active:
            self._out.append(PlanEnd())
            self._active = False
            return True
        return False

    def _take(self) -> list[Segment]:
        out, self._out = merge_segments(self._out), []
        return out

    def parse(self, delta: str) -> list[Segment]:
        """Feed a delta; returns the segments that are now certain."""
        for char in delta:
            if self._detect:
                if char == "\n":
                    line, self._line = self._line, ""
                    if not self._end_of_tag_line(line):
                        self._text(line + "\n")
                    continue
                self._line += char
                if not self._could_be_tag(self._line.strip()):
                    self._text(self._line)
                    self._line = ""
                    self._detect = False
            else:
                self._run.append(char)
                if char == "\n":
                    self._flush_run()
                    self._detect = True
        self._flush_run()
        return self._take()

    def finish(self) -> list[Segment]:
        """Flush what is held, closing an unterminated block."""
        self._flush_run()
        if self._line:
            line, self._line = self._line, ""
            if not self._end_of_tag_line(line):
                self._text(line)
        if self._active:
            self._out.append(PlanEnd())
            self._active = False
        self._detect = True
        return self._take()


def parse_all(text: str) -> list[Segment]:
    """Parse a complete text in one go."""
    parser = ProposedPlanParser()
    return merge_segments([*parser.parse(text), *parser.finish()])


def strip_proposed_plan_blocks(text: str) -> str:
    """The text with every plan block (tags and contents) removed."""
    return "".join(seg.text for seg in parse_all(text) if isinstance(seg, Normal))


def extract_proposed_plan_text(text: str) -> str | None:
    """The contents of the last plan block, or None when there is none."""
    found: str | None = None
    for seg in parse_all(text):
        if isinstance(seg, PlanStart):
            found = ""
        elif isinstance(seg, PlanDelta) and found is not None:
            found += seg.text
    return found
