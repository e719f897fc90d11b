"""``replay`` of a home of real Codex rollouts beside a plain msgspec decode of its lines.

The home is built (once, into ``bench/out/``, never committed: the text is other people's)
from every rollout of ``../shared/corpus`` (the public files and the three real Codex
homes), copied under new thread ids until it holds at least ``MB`` megabytes. Measured in
one run, best of three each:

* in process: ``msgspec.json.decode`` of every line of every file, then ``replay`` (the
  index rebuilt into a scratch DB and swapped in) as ``threadlog replay`` runs it, its logs
  folded by one worker process per core, and folded in its own process alone;
* processes: the same two, each in a fresh process timed after its imports, with its
  peak memory (and the workers');
* commands: ``threadlog replay`` as a user runs it beside a decode script, each a
  whole process with its start-up and imports, best of five run in turn;
* small files: the same on a home of ``SMALL`` copies of the corpus's smallest rollouts,
  with each run's peak memory (a child process's own ``VmHWM``) at a tenth and at all
  of the files, to show whether memory grows with the file count.

Run: ``.venv/bin/python bench/replay_real.py [MB] [SMALL]`` (defaults 200 and 100,000).
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadlog.events.ids import Uuid7Generator
from threadlog.store.layout import iter_rollout_files, parse_rollout_file_name

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()
OUT = Path(__file__).resolve().parent / "out"


def sources() -> list[Path]:
    """Every rollout file of the corpus."""
    return sorted(p for p in CORPUS.rglob("rollout-*.jsonl") if p.is_file())


def _copy(source: Path, home: Path, gen: Uuid7Generator, clock: list[int]) -> int:
    """Write ``source`` into ``home`` as a new thread (its session_meta id and its file name
    changed, every other byte as it was); returns the bytes written. The new id is a UUIDv7
    of the file's own time, as Codex's ids are: its lookups rely on it."""
    parsed = parse_rollout_file_name(source.name)
    stamp = parsed.timestamp if parsed else None
    clock[0] = int(stamp.timestamp() * 1000) if stamp else 1_767_225_600_000
    new_id = gen()
    data = source.read_bytes()
    first, _, rest = data.partition(b"\n")
    try:
        line = json.loads(first)
        if line.get("type") == "session_meta" and isinstance(line.get("payload"), dict):
            line["payload"]["id"] = new_id
            first = json.dumps(line, separators=(",", ":")).encode()
    except ValueError:
        pass
    day = stamp.strftime("%Y/%m/%d") if stamp else "2026/01/01"
    when = stamp.strftime("%Y-%m-%dT%H-%M-%S") if stamp else "2026-01-01T00-00-00"
    target = home / "sessions" / day / f"rollout-{when}-{new_id}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    body = first + b"\n" + rest
    target.write_bytes(body)
    return len(body)


def build(home: Path, files: list[Path], min_bytes: int, min_files: int = 0) -> None:
    """Copy ``files`` round after round until both minimums are met."""
    if (home / "done").exists():
        return
    clock = [0]
    gen = Uuid7Generator(clock_ms=lambda: clock[0])
    total = count = 0
    while total < min_bytes or count < min_files:
        for source in files:
            total += _copy(source, home, gen, clock)
            count += 1
            if total >= min_bytes and count >= min_files:
                break
    (home / "done").touch()


def plain_decode(home: Path) -> float:
    """Seconds to decode every line of every rollout with msgspec (the yardstick)."""
    decode = msgspec.json.decode
    start = time.perf_counter()
    for path in iter_rollout_files(home, archived=False):
        for line in path.read_bytes().splitlines():
            if line:
                with contextlib.suppress(msgspec.DecodeError):
                    decode(line)
    return time.perf_counter() - start


# The peak is the child's own VmHWM: ru_maxrss survives exec on Linux, so a child would
# report the bench process's own peak whenever its own was lower.
_CHILD = """
import re, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
{body}
peak = re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)
print(time.perf_counter() - start, peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
# As ``threadlog replay`` runs it: the logs folded by one forked worker per core.
_REPLAY = """
from threadlog.actors.cli.extract_pool import extraction_pool
from threadlog.projections.index.replay import replay
from threadlog.store.files import FileLogStore
home = Path({home!r})
start = time.perf_counter()
logs = FileLogStore(home)
with extraction_pool(logs) as extract:
    replay(home, home / "threadlog.sqlite", logs=logs, extract=extract)
"""
_DECODE = """
import msgspec
from threadlog.store.layout import iter_rollout_files
start = time.perf_counter()
for p in iter_rollout_files(Path({home!r}), archived=False):
    for line in p.read_bytes().splitlines():
        try:
            msgspec.json.decode(line)
        except msgspec.DecodeError:
            pass
"""


def child(body: str, home: Path) -> tuple[float, int, int]:
    """(seconds, peak KiB, its workers' largest peak KiB) of ``body`` in a fresh process."""
    code = _CHILD.format(repo=str(REPO), body=body.format(home=str(home)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, peak, workers = out.stdout.splitlines()[-1].split()  # after any log lines
    return float(seconds), int(peak), int(workers)


# Whole commands, interpreter start and imports included: ``threadlog replay`` as a user
# runs it, beside a script that imports msgspec and decodes every line.
_DECODE_SCRIPT = (
    "import sys; sys.path.insert(0, {repo!r}); from pathlib import Path; import msgspec; "
    "from threadlog.store.layout import iter_rollout_files\n"
    "for p in iter_rollout_files(Path({home!r}), archived=False):\n"
    "    for line in p.read_bytes().splitlines():\n"
    "        try:\n            msgspec.json.decode(line)\n"
    "        except msgspec.DecodeError:\n            pass\n"
)


def commands(home: Path, runs: int = 5) -> tuple[float, float]:
    """Best wall seconds of (the decode script, ``threadlog replay``), run in turn."""
    decode = [sys.executable, "-c", _DECODE_SCRIPT.format(repo=str(REPO), home=str(home))]
    replay_cmd = [sys.executable, "-m", "threadlog", "replay", "--home", str(home)]
    best = [float("inf"), float("inf")]
    for _ in range(runs):
        for n, argv in enumerate((decode, replay_cmd)):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            best[n] = min(best[n], time.perf_counter() - start)
    return best[0], best[1]


def timed_replays(home: Path, pooled: bool) -> float:
    """Best of three in-process replays, folded by worker processes or in this one."""
    from threadlog.actors.cli.extract_pool import extraction_pool
    from threadlog.projections.index.replay import replay
    from threadlog.store.files import FileLogStore

    times = []
    for _ in range(3):
        start = time.perf_counter()
        logs = FileLogStore(home)
        with extraction_pool(logs, None if pooled else 0) as extract:
            replay(home, home / "threadlog.sqlite", logs=logs, extract=extract)
        times.append(time.perf_counter() - start)
    return min(times)


def compare(label: str, home: Path) -> None:
    """Replay beside plain decode, in process and as whole processes."""
    size = sum(p.stat().st_size for p in iter_rollout_files(home, archived=False))
    files = sum(1 for _ in iter_rollout_files(home, archived=False))
    decode = min(plain_decode(home) for _ in range(3))
    alone = timed_replays(home, pooled=False)
    rep = timed_replays(home, pooled=True)
    d_child = min(child(_DECODE, home) for _ in range(3))
    r_child = min(child(_REPLAY, home) for _ in range(3))
    d_command, r_command = commands(home)
    print(f"{label}: {files:,} files, {size / 1e6:,.0f} MB")
    print(
        f"  in process:   decode {size / decode / 1e6:7.1f} MB/s   "
        f"replay {size / rep / 1e6:7.1f} MB/s   replay/decode speed {decode / rep:5.2f}x"
        f"   (folded in one process: {decode / alone:5.2f}x)"
    )
    print(
        f"  processes:    decode {d_child[0]:7.2f} s ({d_child[1] / 1024:5.0f} MiB)   "
        f"replay {r_child[0]:7.2f} s ({r_child[1] / 1024:5.0f} MiB, "
        f"workers {r_child[2] / 1024:4.0f} MiB each)   speed {d_child[0] / r_child[0]:5.2f}x"
    )
    print(
        f"  commands:     decode {d_command:7.2f} s   threadlog replay {r_command:7.2f} s"
        f"   speed {d_command / r_command:5.2f}x   (start-up and imports included)"
    )


def main() -> None:
    """Build the homes (once), then compare."""
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    small = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    files = sources()
    big = OUT / f"real-{mb}mb"
    build(big, files, mb * 1_000_000)
    compare("real rollouts", big)
    smallest = sorted(files, key=lambda p: p.stat().st_size)[:200]
    for count in (small // 10, small) if small else ():
        home = OUT / f"real-small-{count}"
        build(home, smallest, 0, count)
        compare(f"small real rollouts x{count:,}", home)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process's own peak: {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
