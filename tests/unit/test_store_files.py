"""Reader, layout, archive and names: the file side of the store."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.crash_child import line
from threadlog.events.event_msgs import UserMessage
from threadlog.store.archive import ArchiveError, archive_rollout, unarchive_rollout
from threadlog.store.layout import (
    PathEscapeError,
    ensure_inside,
    find_rollout_path,
    iter_rollout_files,
    new_rollout_path,
    parse_rollout_file_name,
    rollout_file_name,
    watermark,
)
from threadlog.store.names import (
    all_thread_names,
    append_thread_name,
    find_thread_ids_by_name,
    find_thread_name,
    find_thread_names,
    index_path,
    named_thread_ids,
)
from threadlog.store.reader import (
    ReadReport,
    iter_raw_lines,
    read_head,
    read_head_summary,
    read_rollout,
)

TID = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
TID2 = "01a20ab1-1016-7a22-b0af-338a78237cd0"


def _msg(text: str) -> bytes:
    return msgspec.json.encode(
        {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "type": "event_msg",
            "payload": {"type": "agent_message", "message": text},
        }
    )


# --- reader ---------------------------------------------------------------------------


def test_u2028_stays_inside_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    text = "a\u2028b\u2029c\x85d"
    path.write_bytes(_msg(text) + b"\n" + _msg("next") + b"\n")
    lines = list(read_rollout(path))
    assert [r.line.item.message for r in lines] == [text, "next"]  # type: ignore[union-attr]


def test_crlf_endings_read(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(_msg("one") + b"\r\n" + _msg("two") + b"\r\n")
    report = ReadReport()
    assert len(list(read_rollout(path, report=report))) == 2
    assert report.issues == []


def test_garbage_in_the_middle_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = _msg("one") + b"\n"
    path.write_bytes(good + b"{not json at all\n" + _msg("two") + b"\n")
    report = ReadReport()
    lines = list(read_rollout(path, report=report))
    assert [r.line_no for r in lines] == [1, 3]
    assert len(report.issues) == 1
    issue = report.issues[0]
    assert (issue.line_no, issue.offset, issue.path) == (2, len(good), str(path))
    assert "invalid JSON" in issue.reason


def test_torn_tail_is_ignored_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(_msg("one") + b"\n" + _msg("two")[:-3])
    report = ReadReport()
    assert len(list(read_rollout(path, report=report))) == 1
    assert report.torn_tail is not None and report.torn_tail.line_no == 2
    assert report.end_offset == len(_msg("one")) + 1


def test_empty_file_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"")
    assert list(read_rollout(path)) == []
    path.write_bytes(b"\n\n" + _msg("x") + b"\n\n")
    assert len(list(read_rollout(path))) == 1


def test_reading_resumes_from_an_offset(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [_msg(f"m{n}") + b"\n" for n in range(5)]
    path.write_bytes(b"".join(lines))
    first = list(read_rollout(path))
    resumed = list(read_rollout(path, offset=first[2].offset, first_line_no=3))
    assert [r.line.item.message for r in resumed] == ["m2", "m3", "m4"]  # type: ignore[union-attr]
    assert [r.line_no for r in resumed] == [3, 4, 5]
    assert resumed[-1].end == path.stat().st_size


def test_lines_larger_than_a_read_chunk(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    big = "x" * (3 << 20)
    path.write_bytes(_msg("a") + b"\n" + _msg(big) + b"\n" + _msg("b") + b"\n")
    got = [r.line.item.message for r in read_rollout(path)]  # type: ignore[union-attr]
    assert got == ["a", big, "b"]


def test_head_reads_stop_early(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    meta = msgspec.json.encode(
        {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "type": "session_meta",
            "payload": {"id": TID, "timestamp": "2026-01-01T00:00:00.000Z"},
        }
    )
    user = msgspec.json.encode(
        {
            "timestamp": "2026-01-01T00:00:01.000Z",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": "hi"},
        }
    )
    body = [meta] + [_msg(str(n)) for n in range(50)] + [user] + [b"{broken"] * 1000
    path.write_bytes(b"\n".join(body) + b"\n")
    report = ReadReport()
    summary = read_head_summary(path, report=report)
    assert summary.meta is not None and summary.meta.id == TID
    assert isinstance(summary.first_user_message, UserMessage)
    assert summary.lines_read == 52
    assert report.issues == []  # never reached the broken lines
    assert len(read_head(path, 3)) == 3


def test_head_summary_gives_up_after_the_scan_limit(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(_msg(str(n)) + b"\n" for n in range(500)))
    summary = read_head_summary(path)
    assert summary.meta is None and summary.lines_read == 10


def test_raw_lines_do_not_decode(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"{bad\n" + _msg("x") + b"\n")
    assert [r.data[:4] for r in iter_raw_lines(path)] == [b"{bad", b'{"ti']


# --- layout ---------------------------------------------------------------------------


def test_file_name_round_trip() -> None:
    created = datetime(2026, 11, 23, 23, 15, 5)
    name = rollout_file_name(created, TID.upper())
    assert name == f"rollout-2026-11-23T23-15-05-{TID}.jsonl"
    parsed = parse_rollout_file_name(name)
    assert parsed is not None
    assert parsed.thread_id == TID
    assert parsed.timestamp == datetime(2026, 11, 23, 23, 15, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "rollout-2026-11-23T23-15-05.jsonl",
        f"rollout-2026-11-23T23-15-05-{TID}.json",
        f"rollout-2026-13-23T23-15-05-{TID}.jsonl",
        f"xrollout-2026-11-23T23-15-05-{TID}.jsonl",
        f"rollout-2026-11-23T23-15-05-{TID}.jsonl.bak",
        "exported-session.jsonl",
        "session_index.jsonl",
    ],
)
def test_non_matching_names_are_ignored(tmp_path: Path, name: str) -> None:
    assert parse_rollout_file_name(name) is None
    day = tmp_path / "sessions" / "2026" / "11" / "23"
    day.mkdir(parents=True)
    (day / name).write_bytes(b"")
    assert list(iter_rollout_files(tmp_path, archived=False)) == []


def test_new_paths_live_under_local_date_folders(tmp_path: Path) -> None:
    path = new_rollout_path(tmp_path, TID, datetime(2026, 1, 2, 3, 4, 5))
    assert path.relative_to(tmp_path).as_posix() == (
        f"sessions/2026/01/02/rollout-2026-01-02T03-04-05-{TID}.jsonl"
    )
    assert watermark(tmp_path, path).startswith("sessions/2026/01/02/")
    assert not path.parent.exists()  # computing a path creates nothing


@pytest.mark.parametrize("bad", ["../../etc/passwd", "x/../../y", "", "not-a-uuid"])
def test_bad_ids_never_reach_a_path(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        new_rollout_path(tmp_path, bad, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        find_rollout_path(tmp_path, bad)


def test_symlink_escapes_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    home = tmp_path / "home"
    (home / "sessions").mkdir(parents=True)
    (home / "sessions" / "2026").symlink_to(outside)
    with pytest.raises(PathEscapeError):
        ensure_inside(home / "sessions", home / "sessions" / "2026" / "x.jsonl")
    with pytest.raises(PathEscapeError):
        new_rollout_path(home, TID, datetime(2026, 1, 1))


def test_find_rollout_by_id(tmp_path: Path) -> None:
    live = new_rollout_path(tmp_path, TID, datetime(2026, 11, 23, 23, 15, 5))
    live.parent.mkdir(parents=True)
    live.write_bytes(line(1))
    assert find_rollout_path(tmp_path, TID) == live
    assert find_rollout_path(tmp_path, TID, archived=True) is None
    assert find_rollout_path(tmp_path, TID2) is None
    archived = archive_rollout(tmp_path, live)
    assert find_rollout_path(tmp_path, TID) == archived
    assert find_rollout_path(tmp_path, TID, archived=False) is None


# --- archive --------------------------------------------------------------------------


def test_archive_and_unarchive_move_and_touch(tmp_path: Path) -> None:
    live = new_rollout_path(tmp_path, TID, datetime(2026, 11, 23, 23, 15, 5))
    live.parent.mkdir(parents=True)
    live.write_bytes(line(1))
    os.utime(live, (1_000_000, 1_000_000))
    archived = archive_rollout(tmp_path, live)
    assert archived == tmp_path / "archived_sessions" / live.name
    assert not live.exists() and archived.read_bytes() == line(1)
    assert archived.stat().st_mtime == 1_000_000  # archiving keeps the mtime
    before = time.time()
    back = unarchive_rollout(tmp_path, archived)
    assert back == live
    assert back.stat().st_mtime >= before - 1


def test_archive_refuses_paths_outside_sessions(tmp_path: Path) -> None:
    stray = tmp_path / f"rollout-2026-11-23T23-15-05-{TID}.jsonl"
    stray.write_bytes(b"")
    with pytest.raises(ArchiveError, match="must be in sessions directory"):
        archive_rollout(tmp_path, stray)
    with pytest.raises(ArchiveError, match="must be in archived directory"):
        unarchive_rollout(tmp_path, stray)
    odd = tmp_path / "sessions" / "notes.jsonl"
    odd.parent.mkdir()
    odd.write_bytes(b"")
    with pytest.raises(ArchiveError, match="not a rollout file"):
        archive_rollout(tmp_path, odd)
    bad = tmp_path / "archived_sessions" / "rollout-garbage.jsonl"
    bad.parent.mkdir()
    bad.write_bytes(b"")
    with pytest.raises(ArchiveError, match="missing filename timestamp"):
        unarchive_rollout(tmp_path, bad)


# --- names ----------------------------------------------------------------------------


def test_latest_name_wins_by_append_order(tmp_path: Path) -> None:
    append_thread_name(tmp_path, TID, "  first ", "2030-01-01T00:00:00Z")
    append_thread_name(tmp_path, TID2, "other", "2026-01-01T00:00:00Z")
    append_thread_name(tmp_path, TID, "second", "2020-01-01T00:00:00Z")  # older stamp, still wins
    assert find_thread_name(tmp_path, TID) == "second"
    assert find_thread_names(tmp_path, [TID, TID2]) == {TID: "second", TID2: "other"}
    assert named_thread_ids(tmp_path) == {TID, TID2}
    assert find_thread_ids_by_name(tmp_path, " second ") == [TID]
    assert index_path(tmp_path).stat().st_mode & 0o777 == 0o600
    first = json.loads(index_path(tmp_path).read_text().splitlines()[0])
    assert first == {"id": TID, "thread_name": "first", "updated_at": "2030-01-01T00:00:00Z"}


def test_bad_index_lines_are_skipped(tmp_path: Path) -> None:
    append_thread_name(tmp_path, TID, "good", "t")
    with index_path(tmp_path).open("ab") as stream:
        stream.write(b"{broken\n\xff\xfe\n[1]\n")
        stream.write(b'{"id":"../../x","thread_name":"evil"}\n')
        stream.write(b'{"id":"' + TID.encode() + b'","thread_name":"   "}\n\n')
    assert find_thread_name(tmp_path, TID) == "good"
    assert all_thread_names(tmp_path) == {TID: "good"}


def test_names_read_again_follow_appends_torn_lines_and_rewrites(tmp_path: Path) -> None:
    """Names are folded once and then only what was appended is read: every change to
    the file must still show, whether it grew, is being written, or was replaced."""
    append_thread_name(tmp_path, TID, "first", "t")
    assert find_thread_names(tmp_path, [TID, TID2]) == {TID: "first"}
    append_thread_name(tmp_path, TID2, "other", "t")
    append_thread_name(tmp_path, TID, "second", "t")
    assert find_thread_names(tmp_path, [TID, TID2]) == {TID: "second", TID2: "other"}
    path = index_path(tmp_path)
    with path.open("ab") as stream:  # a writer mid-line: a whole last line counts
        stream.write(b'{"id":"' + TID.encode() + b'","thread_name":"third"}')
    assert all_thread_names(tmp_path) == {TID: "third", TID2: "other"}
    with path.open("ab") as stream:
        stream.write(b"\n")
    append_thread_name(tmp_path, TID2, "fourth", "t")
    assert all_thread_names(tmp_path) == {TID: "third", TID2: "fourth"}
    # Rewritten in place, longer, same inode: read from the start again.
    lines = [json.dumps({"id": TID2, "thread_name": f"n{n}", "updated_at": "t"}) for n in range(9)]
    with path.open("r+b") as stream:
        stream.write(("\n".join(lines) + "\n").encode())
    assert all_thread_names(tmp_path) == {TID2: "n8"}
    # Replaced by a shorter file, then by another inode.
    path.write_text(json.dumps({"id": TID, "thread_name": "short", "updated_at": "t"}) + "\n")
    assert all_thread_names(tmp_path) == {TID: "short"}
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(
        json.dumps({"id": TID2, "thread_name": "moved", "updated_at": "t"}) + "\n"
    )
    os.replace(replacement, path)
    assert all_thread_names(tmp_path) == {TID2: "moved"}
    path.unlink()
    assert all_thread_names(tmp_path) == {} and find_thread_names(tmp_path, [TID]) == {}


def test_backward_search_crosses_chunk_boundaries(tmp_path: Path) -> None:
    append_thread_name(tmp_path, TID, "early", "t")
    for n in range(2000):
        append_thread_name(tmp_path, TID2, f"filler {n}", "t")
    assert find_thread_name(tmp_path, TID) == "early"
    assert find_thread_name(tmp_path, TID2) == "filler 1999"


def test_empty_names_and_bad_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        append_thread_name(tmp_path, TID, "   ", "t")
    with pytest.raises(ValueError, match="invalid thread id"):
        append_thread_name(tmp_path, "../x", "name", "t")
    assert find_thread_name(tmp_path, TID) is None


def test_ref_at_finds_only_regular_files_inside_the_home(tmp_path: Path) -> None:
    from threadlog.store.files import FileLogStore

    home = tmp_path / "home"
    tid = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"
    path = new_rollout_path(home, tid, datetime(2026, 1, 2, 3, 4, 5))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{}\n")
    logs = FileLogStore(home)
    ref = logs.ref_at(str(path))
    assert ref is not None and ref.thread_id == tid and ref.key == watermark(home, path)
    assert logs.ref_at(str(path) + ".gone") is None
    # a name that is not a rollout's, a path that leaves the home, a directory
    assert logs.ref_at(str(path.parent / "notes.txt")) is None
    outside = tmp_path / path.name
    outside.write_bytes(b"{}\n")
    assert logs.ref_at(str(home / "sessions" / ".." / ".." / path.name)) is None
    # a symlink out of the home is refused; one that stays inside is followed
    escape = path.parent / rollout_file_name(
        datetime(2026, 1, 2, 3, 4, 6), tid.replace("0ea2", "0ea3")
    )
    escape.symlink_to(outside)
    assert logs.ref_at(str(escape)) is None
    inside = path.parent / rollout_file_name(
        datetime(2026, 1, 2, 3, 4, 7), tid.replace("0ea2", "0ea4")
    )
    inside.symlink_to(path)
    assert logs.ref_at(str(inside)) is not None
    # through the home's real path too, when the home itself is reached by a symlink
    alias = tmp_path / "alias"
    alias.symlink_to(home)
    assert FileLogStore(alias).ref_at(str(alias / path.relative_to(home))) is not None


def test_whole_home_lookups_walk_afresh_outside_a_backfill(tmp_path: Path) -> None:
    from threadlog.store.layout import one_walk_per_home, rollout_paths_of

    home = tmp_path / "home"
    # not a UUIDv7 (no date to narrow the folders by): found by a walk of the home
    tid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    odd = home / "sessions" / "2026" / "01" / "02" / rollout_file_name(datetime(2026, 1, 2), tid)
    odd.parent.mkdir(parents=True)
    assert rollout_paths_of(home, tid) == []
    odd.write_bytes(b"{}\n")
    assert rollout_paths_of(home, tid) == [odd]  # no stale answer outside the block
    with one_walk_per_home():
        assert rollout_paths_of(home, tid) == [odd]
        later = odd.with_name(rollout_file_name(datetime(2026, 1, 2, 1), tid))
        later.write_bytes(b"{}\n")
        # inside, the first walk serves every lookup: a snapshot, as the backfill reads
        assert rollout_paths_of(home, tid) == [odd]
    assert rollout_paths_of(home, tid) == [odd, later]


def test_inside_one_walk_a_thread_s_files_are_the_ones_its_folders_hold(tmp_path: Path) -> None:
    """The walk answers a lookup as the date folders' scan does: the files in the folders
    since the day before the id's creation, else those anywhere, else the archived ones."""
    from threadlog.events.ids import Uuid7Generator
    from threadlog.store.layout import one_walk_per_home, rollout_paths_of

    home = tmp_path / "home"
    made = datetime(2026, 3, 10, 12)
    ids = Uuid7Generator(clock_ms=lambda: int(made.timestamp() * 1000))
    sessions = home / "sessions"
    placed: dict[str, list[Path]] = {
        "dated": [sessions / "2026/03/10", sessions / "2026/04/01"],
        "older folder too": [sessions / "2026/03/01", sessions / "2026/03/10"],
        "only outside the dates": [sessions / "2025/01/01", sessions / "misc"],
        "deeper than a day": [sessions / "2026/03/10/x", sessions / "2026/03/11"],
        "archived only": [home / "archived_sessions"],
        "nowhere": [],
    }
    tids = {case: ids() for case in placed}
    tids["not a uuid7"] = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    placed["not a uuid7"] = [sessions / "2026/03/10"]
    for case, folders in placed.items():
        for n, folder in enumerate(folders):
            folder.mkdir(parents=True, exist_ok=True)
            name = rollout_file_name(made + timedelta(hours=n), tids[case])
            (folder / name).write_bytes(b"{}\n")
    fresh = {
        c: [rollout_paths_of(home, t, archived=a) for a in (None, False)] for c, t in tids.items()
    }
    with one_walk_per_home():
        walked = {
            c: [rollout_paths_of(home, t, archived=a) for a in (None, False)]
            for c, t in tids.items()
        }
    assert walked == fresh
    assert [p.parent for p in fresh["dated"][0]] == placed["dated"]
    assert [p.parent for p in fresh["older folder too"][0]] == [sessions / "2026/03/10"]
    assert len(fresh["only outside the dates"][0]) == 2 and fresh["nowhere"][0] == []
    assert [p.parent for p in fresh["deeper than a day"][0]] == [sessions / "2026/03/11"]
    assert [p.parent for p in fresh["archived only"][0]] == placed["archived only"]


_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@st.composite
def _name_times(draw: st.DrawFn) -> str:
    """Fourteen digits of a name's time: mostly near the valid ranges, some past them."""
    fields = [
        draw(st.integers(1, 9999)),
        draw(st.integers(0, 13)),
        draw(st.integers(0, 32)),
        draw(st.integers(0, 25)),
        draw(st.integers(0, 61)),
        draw(st.integers(0, 61)),
    ]
    digits = f"{fields[0]:04d}" + "".join(f"{v:02d}" for v in fields[1:])
    return digits.translate(_ARABIC_INDIC) if draw(st.integers(0, 9)) == 0 else digits


@settings(max_examples=300)
@given(_name_times())
def test_a_name_s_time_is_read_as_its_digits_say(digits: str) -> None:
    """The fast read of a name's time agrees with the groups' integers for any digits:
    valid or not as a date, ASCII or other Unicode digits (which the name pattern takes)."""
    d = digits
    name = f"rollout-{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}-{d[10:12]}-{d[12:]}-{TID}.jsonl"
    parts = [int(d[a:b]) for a, b in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))]
    try:
        expected: datetime | None = datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
    except ValueError:
        expected = None
    parsed = parse_rollout_file_name(name)
    assert (parsed.timestamp if parsed else None) == expected


def test_inside_one_walk_a_thread_s_newest_file_is_the_one_first_seen(tmp_path: Path) -> None:
    """A backfill lists the logs twice in one walk (to count, then to index): the threads
    with several files are found once, so both listings give the same log."""
    from threadlog.store.files import FileLogStore
    from threadlog.store.layout import one_walk_per_home

    home = tmp_path / "home"
    day = home / "sessions" / "2026" / "01" / "02"
    day.mkdir(parents=True)
    first = day / rollout_file_name(datetime(2026, 1, 2, 1), TID)
    second = day / rollout_file_name(datetime(2026, 1, 2, 2), TID, TID2)
    for path in (first, second):
        path.write_bytes(b"{}\n")
    logs = FileLogStore(home)
    with one_walk_per_home():
        assert [r.location for r in logs.logs(archived=False)] == [str(second)]
        third = day / rollout_file_name(
            datetime(2026, 1, 2, 3), TID, "01a20ab1-1016-7a22-b0af-000000000003"
        )
        third.write_bytes(b"{}\n")
        assert [r.location for r in logs.logs(archived=False)] == [str(second)]
    assert [r.location for r in logs.logs(archived=False)] == [str(third)]
