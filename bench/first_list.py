"""The first ``thread/list`` of a fresh server on a home with no index, beside Codex 0.105.

The home is ``bench/replay_real.py``'s (real rollouts, about 200 MB; build it first). For
each server, in turns, in one run: the home's databases are removed (threadlog's
``threadlog.sqlite``, Codex's ``state_*.sqlite``), the server is started, and two figures
are taken: seconds from start to the ``initialize`` answer, and seconds from sending the
first ``thread/list`` (right after ``initialize``) to its answer. threadlog answers that
list from the files while its backfill runs; Codex 0.105 lists from the files too.

Run: ``.venv/bin/python bench/first_list.py [RUNS]`` (needs ``@openai/codex@0.105.0`` from
npm; ``tests/support/codex_npm.py`` installs it into the cache).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.codex_npm import codex_binary

REPO = Path(__file__).resolve().parents[1]
HOME = Path(__file__).resolve().parent / "out" / "real-200mb"
LIST = {"limit": 25, "modelProviders": []}  # every provider: the home's threads are mixed


def _clean(home: Path) -> None:
    for path in home.iterdir():
        if path.name.startswith(("threadlog.sqlite", "state_", "logs_")):
            path.unlink()


def _rpc(proc: subprocess.Popen[bytes], message: dict[str, object]) -> dict[str, object]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()
    while True:
        answer: dict[str, object] = json.loads(proc.stdout.readline())
        if answer.get("id") == message["id"]:
            return answer


def one_run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds to initialize, seconds of the first list, threads listed)."""
    _clean(HOME)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    init = {"clientInfo": {"name": "bench", "version": "1"}}
    _rpc(proc, {"id": 1, "method": "initialize", "params": init})
    ready = time.perf_counter() - start
    assert proc.stdin is not None
    proc.stdin.write(b'{"method":"initialized"}\n')
    listed = time.perf_counter()
    answer = _rpc(proc, {"id": 2, "method": "thread/list", "params": LIST})
    first = time.perf_counter() - listed
    proc.stdin.close()
    proc.wait(timeout=60)
    result = answer.get("result")
    count = len(result["data"]) if isinstance(result, dict) else -1  # type: ignore[arg-type]
    return ready, first, count


def main() -> None:
    """Alternate the two servers; print medians and ratios."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    if not (HOME / "done").exists():
        raise SystemExit("build the home first: .venv/bin/python bench/replay_real.py 200 0")
    ours_env = {**os.environ, "PYTHONPATH": str(REPO)}
    ours = [sys.executable, "-m", "threadlog.actors.cli.main", "serve", "--home", str(HOME)]
    codex_env = {**os.environ, "CODEX_HOME": str(HOME)}
    codex = [str(codex_binary("0.105.0")), "app-server"]
    figures: dict[str, list[tuple[float, float, int]]] = {"threadlog": [], "codex 0.105": []}
    for _ in range(runs):
        figures["threadlog"].append(one_run(ours, ours_env))
        figures["codex 0.105"].append(one_run(codex, codex_env))
    _clean(HOME)
    print(f"home: {HOME.name}, {runs} runs each, alternating; medians")
    for name, rows in figures.items():
        init = statistics.median(r[0] for r in rows)
        first = statistics.median(r[1] for r in rows)
        print(
            f"{name:12} initialize {init * 1e3:8.1f} ms   first thread/list {first * 1e3:8.1f} ms"
            f"   ({rows[0][2]} threads)"
        )
    ours_first = statistics.median(r[1] for r in figures["threadlog"])
    codex_first = statistics.median(r[1] for r in figures["codex 0.105"])
    ours_init = statistics.median(r[0] for r in figures["threadlog"])
    codex_init = statistics.median(r[0] for r in figures["codex 0.105"])
    print(
        f"ratio threadlog / codex: initialize {ours_init / codex_init:.2f}x, "
        f"first thread/list {ours_first / codex_first:.2f}x (target 2x)"
    )


if __name__ == "__main__":
    main()
