"""The 0.169+ format folds like Codex reads it: generated threads, mixed eras, forks by
reference, reverts (several files per thread) and the turn index."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlog.events import decode_line
from threadlog.events.rollout import HistoryBase, RolloutItem
from threadlog.events.views import Turn
from threadlog.projections.history import HistoryBuilder, build_turns
from threadlog.projections.index.backfill import run_backfill
from threadlog.projections.index.doctor import doctor
from threadlog.projections.index.lineage import Lineage
from threadlog.projections.index.listing import ListParams, list_page
from threadlog.projections.index.read_thread import read_thread
from threadlog.projections.index.turns_list import TurnsListParams, TurnsMetrics, list_turns
from threadlog.store.files import FileLogStore
from threadlog.store.memory import MemoryIndex
from threadlog.testing.current import CurrentTurn, CurrentWriter, current_fork, current_thread
from threadlog.testing.homes import thread_lines

PARENT = "01a23595-0a44-7751-bd2b-ceb90b05bfb4"
CHILD = "01a23595-1cfb-75b0-9070-8cf3efd3342f"
OTHER = "01a23595-224d-7c72-ace8-050ef5046b25"
CREATED = datetime(2026, 11, 30, 0, 53, 20, tzinfo=UTC)
EXEC = ListParams(source_kinds=["exec"])

turns_strategy = st.lists(
    st.builds(
        CurrentTurn,
        text=st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12
        ),
        answer=st.none() | st.text(max_size=8),
        command=st.none() | st.sampled_from(["ls", "echo 'a b'", "printf 'x\\n'"]),
        error=st.none() | st.sampled_from(["stream disconnected", "boom"]),
    ),
    min_size=1,
    max_size=6,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def items_of(lines: list[bytes]) -> list[RolloutItem]:
    return [decode_line(line).item for line in lines]


def fold(items: list[RolloutItem]) -> list[Turn]:
    counter = itertools.count()
    return build_turns(items, new_id=lambda: f"implicit-{next(counter)}")


def write(home: Path, thread_id: str, lines: list[bytes], name: str | None = None) -> Path:
    day = home / "sessions" / "2026" / "11" / "30"
    day.mkdir(parents=True, exist_ok=True)
    path = day / (name or f"rollout-2026-11-30T00-53-20-{thread_id}.jsonl")
    path.write_bytes(b"".join(lines))
    return path


@SETTINGS
@given(turns_strategy)
def test_current_era_folds_the_same_one_item_at_a_time(turns: list[CurrentTurn]) -> None:
    items = items_of(current_thread(PARENT, turns).lines)
    counter = itertools.count()
    builder = HistoryBuilder(lambda: f"implicit-{next(counter)}", strict=True)
    for item in items:
        builder.feed(item)
        builder.snapshot(running=True)
    whole = fold(items)
    assert builder.snapshot() == whole
    assert len(whole) == len(turns)
    for turn, spec in zip(whole, turns, strict=True):
        assert turn.status == ("failed" if spec.error else "completed")
        assert (turn.error is not None) == (spec.error is not None)
        assert turn.root_turn_id == turn.id and turn.started_at is not None
        kinds = [type(i).__name__ for i in turn.items]
        expected = ["UserMessageItem"]
        expected += ["CommandExecutionItem"] if spec.command is not None else []
        expected += ["AgentMessageItem"] if spec.answer is not None else []
        assert kinds == expected
        assert all(i.started_at_ms is not None for i in turn.items)


@SETTINGS
@given(st.integers(min_value=1, max_value=3), turns_strategy)
def test_a_seed_era_thread_resumed_by_a_current_codex_folds_as_its_parts(
    seed_turns: int, turns: list[CurrentTurn]
) -> None:
    # The era is decided line by line: a 0.105 file continued by 0.171 holds both.
    seed = thread_lines(PARENT, CREATED, "old", seed_turns)
    current = current_thread(PARENT, turns).lines[1:]  # its turns, without a second meta
    mixed = fold(items_of(seed + current))
    parts = fold(items_of(seed)) + fold(items_of(current))
    assert mixed == parts


@SETTINGS
@given(turns_strategy, turns_strategy, turns_strategy)
def test_a_fork_by_reference_reads_its_parent_up_to_the_fork(
    before: list[CurrentTurn], after: list[CurrentTurn], own: list[CurrentTurn]
) -> None:
    # hypothesis runs the body many times: each example gets its own home, removed after
    with tempfile.TemporaryDirectory(prefix="threadlog-fork-") as name:
        home = Path(name)
        parent = current_thread(PARENT, before)
        parent_turns = fold(items_of(parent.lines))
        child = current_fork(CHILD, parent, own)
        for n, turn in enumerate(after):  # the parent goes on after the fork
            parent.turn(500 + n, turn)
        write(home, PARENT, parent.lines)
        child_path = write(home, CHILD, child.lines)
        lineage = Lineage([])
        thread = read_thread(FileLogStore(home), CHILD, include_turns=True, lineage=lineage)
        assert lineage.problem is None and len(lineage.bases) == 1
        assert thread.turns == parent_turns + fold(items_of(child.lines))
        assert thread.forked_from_id == PARENT and thread.preview == before[0].text.strip()
        # nothing of the parent was copied into the fork's file
        assert child_path.read_bytes() == b"".join(child.lines)
        page = list_turns(FileLogStore(home), TurnsListParams(CHILD, limit=100, items_view="full"))
        assert page.data == list(reversed(thread.turns))


def test_a_missing_parent_or_a_cycle_is_reported_and_never_loops(tmp_path: Path) -> None:
    orphan = CurrentWriter(CHILD)
    orphan.meta(history_base=HistoryBase(OTHER, 3, 100))
    orphan.turn(0, CurrentTurn("mine"))
    write(tmp_path, CHILD, orphan.lines)
    lineage = Lineage([])
    thread = read_thread(FileLogStore(tmp_path), CHILD, include_turns=True, lineage=lineage)
    assert lineage.problem is not None and "not found" in lineage.problem
    assert [t.items[0].content for t in thread.turns] == [  # type: ignore[union-attr]
        fold(items_of(orphan.lines))[0].items[0].content  # type: ignore[union-attr]
    ]
    # two threads that name each other as their base
    loop = CurrentWriter(OTHER)
    loop.meta(history_base=HistoryBase(CHILD, 3, 10_000))
    loop.turn(0, CurrentTurn("theirs"))
    write(tmp_path, OTHER, loop.lines)
    back = CurrentWriter(CHILD)
    back.meta(history_base=HistoryBase(OTHER, 3, 10_000))
    write(tmp_path, CHILD, back.lines)
    lineage = Lineage([])
    read_thread(FileLogStore(tmp_path), CHILD, include_turns=True, lineage=lineage)
    assert lineage.problem is not None and "cycle" in lineage.problem
    bad = CurrentWriter(CHILD)
    bad.meta(history_base=HistoryBase("../../etc/passwd", 1, 1))
    write(tmp_path, CHILD, bad.lines)
    lineage = Lineage([])
    read_thread(FileLogStore(tmp_path), CHILD, include_turns=True, lineage=lineage)
    assert lineage.problem is not None and "bad thread id" in lineage.problem


def test_a_reverted_thread_is_read_from_its_newest_file_and_listed_once(tmp_path: Path) -> None:
    first = current_thread(PARENT, [CurrentTurn("one"), CurrentTurn("two"), CurrentTurn("three")])
    kept = fold(items_of(first.lines))[:2]
    kept_lines = 1 + 2 * 5  # the meta and two whole turns of five lines
    cut = sum(len(line) for line in first.lines[:kept_lines])
    assert fold(items_of(first.lines[:kept_lines])) == kept
    write(tmp_path, PARENT, first.lines)
    # Codex's revert: a new file for the same thread whose base is the old file, cut
    later = CurrentWriter(PARENT, first_ordinal=kept_lines, at_ms=first.at_ms + 5000)
    later.meta(history_base=HistoryBase(PARENT, kept_lines, cut))
    later.turn(9, CurrentTurn("instead"))
    write(
        tmp_path,
        PARENT,
        later.lines,
        f"rollout-2026-11-30T00-59-00-{PARENT}_0f6e2b9a-8d1c-4c33-9a55-6d2f6f0e1a11.jsonl",
    )
    logs = FileLogStore(tmp_path)
    thread = read_thread(logs, PARENT, include_turns=True)
    assert thread.turns == kept + fold(items_of(later.lines))
    assert thread.path is not None and "_0f6e2b9a" in thread.path
    assert [t.id for t in list_page(logs, EXEC).data] == [PARENT]
    index = MemoryIndex()
    run_backfill(logs, index)
    assert [r.id for r in index.rows()] == [PARENT]
    assert [t.id for t in list_page(logs, EXEC, index=index).data] == [PARENT]
    assert [s.turn_id for s in index.turn_spans(PARENT)] == [t.id for t in thread.turns]


def test_the_last_page_of_a_long_thread_reads_only_its_turns(tmp_path: Path) -> None:
    writer = current_thread(PARENT, [CurrentTurn(f"turn {n} " + "x" * 2000) for n in range(300)])
    path = write(tmp_path, PARENT, writer.lines)
    logs = FileLogStore(tmp_path)
    index = MemoryIndex()
    run_backfill(logs, index)
    metrics = TurnsMetrics()
    page = list_turns(logs, TurnsListParams(PARENT, limit=2), index=index, metrics=metrics)
    whole = read_thread(logs, PARENT, include_turns=True).turns
    assert [t.id for t in page.data] == [whole[-1].id, whole[-2].id]
    assert [t.items for t in page.data] == [whole[-1].items, whole[-2].items]
    spans = index.turn_spans(PARENT)[-2:]
    assert metrics.bytes_read == sum((s.end_offset or 0) - s.start_offset for s in spans)
    assert metrics.bytes_read * 100 < path.stat().st_size
    # an appended turn is picked up by the next page (the index folds only what was added)
    more = CurrentWriter(PARENT, first_ordinal=writer.ordinal, at_ms=writer.at_ms)
    last = more.turn(999, CurrentTurn("the newest"))
    with path.open("ab") as stream:
        stream.write(b"".join(more.lines))
    again = list_turns(logs, TurnsListParams(PARENT, limit=1), index=index)
    assert [t.id for t in again.data] == [last]
    assert msgspec.to_builtins(again.data[0])["itemsView"] == "summary"


def test_doctor_reports_a_fork_whose_parent_is_gone(tmp_path: Path) -> None:
    parent = current_thread(PARENT, [CurrentTurn("one")])
    child = current_fork(CHILD, parent, [CurrentTurn("two")])
    parent_path = write(tmp_path, PARENT, parent.lines)
    write(tmp_path, CHILD, child.lines)
    logs = FileLogStore(tmp_path)
    index = MemoryIndex()
    assert doctor(logs, index, fix=True).clean
    parent_path.unlink()
    report = doctor(logs, index, fix=True)
    assert not report.clean
    assert report.broken_bases == [f"{CHILD}: history base thread {PARENT} not found"]
