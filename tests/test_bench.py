"""`make bench QUICK=1` runs end to end: the harness is tested so that it cannot rot (its figures are not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_quick_mode_fills_every_row(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    out = tmp_path / "RESULTS.md"
    # Its models are built once into pytest's cache folder (a minute), not into the user's cache.
    cache = request.config.cache.mkdir("tfscope-bench") if request.config.cache else tmp_path / "cache"
    env = {**os.environ, "QUICK": "1", "BENCH_OUT": str(out), "TFSCOPE_BENCH_CACHE": str(cache)}
    env.pop("STORAGE_EMULATOR_HOST", None)
    done = subprocess.run([sys.executable, "bench/run.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert any("QUICK" in line for line in lines if line.startswith("- settings"))
    rows = [line.strip("| ").split(" | ") for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert {row[0].split(".")[0] for row in rows} == {"1", "2", "3", "4", "5", "6", "7", "8"}
    for row in rows:
        assert len(row) >= 3 and row[1].strip() and row[2].strip(), f"an empty cell: {row}"
    # Outside a namespace only TensorFlow's own gs:// rows may say why they are skipped; the rest have figures.
    assert all(row[1][0].isdigit() for row in rows), rows


def test_peak_memory_is_the_measured_process_own() -> None:
    """Row 4 compares the TUI's peak memory with list_blobs': each is a child of the bench, which holds the
    100,000-object listing server. getrusage's ru_maxrss carries the parent's size across fork and exec."""
    parent_mb = 300
    ballast = bytearray(parent_mb * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident
    code = "from common import peak_mb; print(peak_mb())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", capture_output=True, text=True, check=True)
    assert float(done.stdout) < parent_mb / 3, done.stdout
    del ballast
