"""Row 8: what changed between two ResNet50 `.keras` files in the bucket: `tfscope diff` (the bytes it
needs, no TensorFlow) against downloading both and comparing `model.summary()` in Keras."""

from __future__ import annotations

import subprocess
import time

from common import BIG_RUNS, PYTHON, ROOT, Row, faster, median, median_json, seconds
from data import BENCH_BUCKET
from network import BenchNetwork

PAIR = (f"gs://{BENCH_BUCKET}/resnet50.keras", f"gs://{BENCH_BUCKET}/resnet50_10.keras")
"""ResNet50 and the same with a 10-class head: the head's layer and variables change."""


def diff_rows(net: BenchNetwork, env: dict[str, str]) -> list[Row]:
    gcs_env = {**env, **net.tfscope_env}
    ours = median(lambda: _diff_wall(gcs_env))
    theirs = median_json([PYTHON, "bench/plain_diff.py", *PAIR], gcs_env, BIG_RUNS)
    usual = f"{seconds(theirs['total_s'])} download both, keras load_model, diff model.summary()"
    return [Row("8. diff of two ResNet50 .keras (103 MB each, gs://)", f"{seconds(ours)} tfscope diff", usual,
                faster(ours, theirs["total_s"]))]  # fmt: skip


def _diff_wall(env: dict[str, str]) -> float:
    """Seconds `tfscope diff` takes on the pair; it must find them different (exit 1)."""
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "tui", "diff", *PAIR], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 1 or "+ predictions" not in done.stdout and "~ predictions" not in done.stdout:
        raise RuntimeError(f"tfscope diff did not report the changed head (exit {done.returncode}):\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    return elapsed
