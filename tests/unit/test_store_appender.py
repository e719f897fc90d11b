"""The appender: exclusivity, durability modes, group commit, torn-tail healing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.crash_child import line
from threadlog.store.appender import RolloutAppender
from threadlog.store.ports import WriterClosedError, WriterLockedError
from threadlog.store.reader import ReadReport, iter_raw_lines, read_rollout

GOOD = line(1)


def _raw(path: Path) -> list[bytes]:
    return [r.data for r in iter_raw_lines(path)]


def test_new_file_is_private_and_appends_return_offsets(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "rollout.jsonl"
    with RolloutAppender(path) as appender:
        end = appender.append(GOOD)
        assert end == len(GOOD)
        assert appender.append([line(2), line(3)]) == len(GOOD) + len(line(2)) + len(line(3))
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o700
    assert len(_raw(path)) == 3


def test_partial_lines_are_refused(tmp_path: Path) -> None:
    with RolloutAppender(tmp_path / "r.jsonl") as appender, pytest.raises(ValueError):
        appender.append(b'{"no newline":1}')


def test_second_writer_in_this_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RolloutAppender(path):
        with pytest.raises(WriterLockedError, match="another writer"):
            RolloutAppender(path)
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                RolloutAppender(path)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], WriterLockedError)
    # released on close
    RolloutAppender(path).close()


def test_second_writer_in_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    code = (
        "import sys; from pathlib import Path\n"
        "from threadlog.store.appender import RolloutAppender\n"
        "from threadlog.store.ports import WriterLockedError\n"
        "try:\n    RolloutAppender(Path(sys.argv[1]))\n"
        "except WriterLockedError:\n    sys.exit(3)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with RolloutAppender(path):
        proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env)
        assert proc.returncode == 3
    proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env)
    assert proc.returncode == 0


@pytest.mark.parametrize("mode", ["none", "flush", "fsync"])
def test_every_mode_persists_on_close(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "r.jsonl"
    with RolloutAppender(path, durability=mode) as appender:  # type: ignore[arg-type]
        for n in range(100):
            appender.append(line(n))
        if mode == "none":
            assert path.stat().st_size < appender.offset  # still buffered in user space
        else:
            assert path.stat().st_size == appender.offset  # handed to the OS already
    assert len(_raw(path)) == 100


def test_group_commit_shares_fsyncs_between_writers(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    appender = RolloutAppender(path, durability="fsync")
    per_thread, threads = 50, 16
    returned: list[int] = []
    lock = threading.Lock()

    def writer(base: int) -> None:
        for n in range(per_thread):
            appender.append(line(base + n))
            with lock:
                returned.append(base + n)

    workers = [threading.Thread(target=writer, args=(i * 1000,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert appender.appends == per_thread * threads
    assert 0 < appender.fsyncs < appender.appends
    appender.close()
    on_disk = {int(r.line.item.message.split()[1]) for r in read_rollout(path)}  # type: ignore[union-attr]
    assert set(returned) == on_disk


def test_closed_appender_refuses_appends(tmp_path: Path) -> None:
    appender = RolloutAppender(tmp_path / "r.jsonl")
    appender.close()
    appender.close()
    with pytest.raises(WriterClosedError):
        appender.append(GOOD)


TORN = [
    ("no final newline", GOOD + GOOD[:-1], 2, 0),
    ("cut inside a JSON object", GOOD + GOOD[:30], 1, 1),
    ("cut inside a UTF-8 sequence", GOOD + b'{"timestamp":"\xe2\x82', 1, 1),
    ("NUL padding", GOOD + b"\x00" * 4096, 1, 0),
    ("torn then NUL padding", GOOD + GOOD[:20] + b"\x00" * 100, 1, 1),
    ("only a partial line", GOOD[:25], 0, 1),
    ("empty", b"", 0, 0),
]


@pytest.mark.parametrize(("case", "content", "good", "bad"), TORN, ids=[t[0] for t in TORN])
def test_torn_tails_heal_and_never_glue(
    tmp_path: Path, case: str, content: bytes, good: int, bad: int
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    before = ReadReport()
    assert len(list(read_rollout(path, report=before))) == good - (
        1 if case == "no final newline" else 0
    )
    with RolloutAppender(path) as appender:
        assert appender.heal_report.healed == (
            content not in (b"",) and not content.endswith(b"\n")
        )
        appender.append(line(99))
    report = ReadReport()
    lines = list(read_rollout(path, report=report))
    assert report.torn_tail is None
    assert len(report.issues) == bad
    assert len(lines) == good + 1
    assert lines[-1].line.item.message == "line 99"  # type: ignore[union-attr]
    assert b"\x00" not in path.read_bytes()


def test_heal_report_locates_the_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(GOOD + b'{"torn')
    with RolloutAppender(path) as appender:
        report = appender.heal_report
    assert report.terminated_torn_line
    assert report.torn_line_offset == len(GOOD)
    assert report.torn_line_bytes == len(b'{"torn')
