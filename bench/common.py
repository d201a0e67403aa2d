"""What every row uses: run counts, timing, ratios, and the row type."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

QUICK = os.environ.get("QUICK", "") not in {"", "0"}
RUNS = 1 if QUICK else 5
"""Runs per measurement (the median is reported)."""
BIG_RUNS = 1 if QUICK else 3
"""Runs for the ~100 MB models and the 100,000-object listing, which take several seconds each."""
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class Row(NamedTuple):
    row: str
    tfscope: str
    usual: str
    ratio: str


def median(measure: Callable[[], float], runs: int = RUNS) -> float:
    return statistics.median(measure() for _ in range(runs))


def wall(command: list[str], env: dict[str, str]) -> float:
    """Seconds a command takes, interpreter start included; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def json_of(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """What a command prints as JSON (all of stdout, or its last line); raises with its stderr if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median_json(command: list[str], env: dict[str, str], runs: int = RUNS) -> dict[str, float]:
    """Each key's median over several runs of a JSON-printing command."""
    results = [json_of(command, env) for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def faster(ours: float, theirs: float) -> str:
    """How tfscope compares, for the ratio column (lower is better for both)."""
    if ours <= theirs:
        return f"{theirs / ours:.1f}x faster"
    return f"{ours / theirs:.2f}x slower"


def peak_mb() -> float:
    """This process's peak resident memory, in MB.

    /proc's VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child
    of the bench (which holds the 100,000-object listing server) would report the bench's own size.
    """
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):  # not Linux: the best there is
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seconds(value: float) -> str:
    return f"{value:.2f} s"
