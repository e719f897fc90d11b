"""The walk of a home in watermark order, and the finding of threads with several files."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadlog.store import ordered_walk
from threadlog.store.layout import iter_rollout_files, watermark
from threadlog.store.ordered_walk import (
    count_rollout_files,
    rollout_files_in_order,
    threads_with_several_files,
)

FOLDERS = ("2026/03/01", "2026/03/01-x", "2026/03", "2026/03/1", "2026-old/03/01", "2026/11/23")


def _name(n: int, thread: str | None = None, segment: str | None = None) -> str:
    tid = thread or str(uuid.UUID(int=n, version=4))
    tail = f"_{segment}" if segment else ""
    return f"rollout-2026-03-01T12-00-{n % 60:02d}-{tid}{tail}.jsonl"


def _home(tmp_path: Path, placement: list[tuple[int, int]]) -> Path:
    for n, folder in placement:
        day = tmp_path / "sessions" / FOLDERS[folder % len(FOLDERS)]
        day.mkdir(parents=True, exist_ok=True)
        (day / _name(n)).write_bytes(b"{}\n")
    notes = tmp_path / "sessions" / "2026" / "03" / "01"
    notes.mkdir(parents=True, exist_ok=True)
    (notes / "notes.txt").write_bytes(b"")
    return tmp_path


def _by_sort(home: Path) -> list[str]:
    return sorted(watermark(home, p) for p in iter_rollout_files(home, archived=False))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 20)), unique_by=lambda t: t[0]))
def test_files_come_in_the_order_of_their_watermarks(placement: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory(prefix="tl-walk-") as root:
        _check_order(_home(Path(root), placement))


def _check_order(home: Path) -> None:
    expected = _by_sort(home)
    assert [key for key, _, _ in rollout_files_in_order(home, archived=False)] == expected
    assert count_rollout_files(home, archived=False, newest={}) == len(expected)
    # A folder name that another one starts with ("03/01" and "03/01-x") sorts as its paths
    # do: "03/01-x/..." before "03/01/...".
    for cut in expected[:: max(1, len(expected) // 5)]:
        after = [key for key, _, _ in rollout_files_in_order(home, archived=False, after=cut)]
        assert after == [k for k in expected if k > cut]
        assert count_rollout_files(home, archived=False, after=cut, newest={}) == len(after)


def test_a_directory_bigger_than_a_chunk_is_read_in_chunks_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ordered_walk, "_CHUNK", 7)
    home = _home(tmp_path, [(n, 0) for n in range(50)] + [(n, 1) for n in range(50, 60)])
    walked = [key for key, _, _ in rollout_files_in_order(home, archived=False)]
    assert walked == _by_sort(home) and len(walked) == 60
    cut = walked[23]
    assert [k for k, _, _ in rollout_files_in_order(home, archived=False, after=cut)] == walked[24:]


def test_a_folder_wholly_before_the_watermark_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path, [(1, 0), (2, 5)])
    last = _by_sort(home)[-1]
    read: list[str] = []
    real = ordered_walk.os.scandir

    def scandir(path: object) -> object:
        read.append(str(path))
        return real(path)  # type: ignore[call-overload]

    monkeypatch.setattr(ordered_walk.os, "scandir", scandir)
    assert list(rollout_files_in_order(home, archived=False, after=last)) == []
    assert not any(p.endswith("2026/03/01") for p in read)
    assert any(p.endswith("2026/11/23") for p in read)


def test_archived_files_are_flat_and_in_order(tmp_path: Path) -> None:
    archive = tmp_path / "archived_sessions"
    (archive / "nested").mkdir(parents=True)
    for n in (5, 3, 9):
        (archive / _name(n)).write_bytes(b"{}\n")
    (archive / "nested" / _name(11)).write_bytes(b"{}\n")
    keys = [key for key, _, _ in rollout_files_in_order(tmp_path, archived=True)]
    assert keys == sorted(f"archived_sessions/{_name(n)}" for n in (5, 3, 9))


@pytest.mark.parametrize("bits", [8, 1 << 24])
def test_threads_with_several_files_are_found_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bits: int
) -> None:
    """A tiny bitmap makes every id collide: the answer must not change."""
    monkeypatch.setattr(ordered_walk, "_BITMAP_BITS", bits)
    home = _home(tmp_path, [(n, n) for n in range(40)])
    reverted = str(uuid.UUID(int=7, version=4))
    later = tmp_path / "sessions" / "2026" / "11" / "23"
    newest = later / _name(59, reverted, str(uuid.UUID(int=99, version=4)))
    newest.write_bytes(b"{}\n")
    assert threads_with_several_files(home, archived=False) == {reverted: newest}
    assert threads_with_several_files(home, archived=True) == {}
    # the count keeps the newest file of such a thread only, as the listing does
    assert count_rollout_files(home, archived=False, newest={reverted: str(newest)}) == 40
    assert count_rollout_files(home, archived=False, newest={}) == 41
