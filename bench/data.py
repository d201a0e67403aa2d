"""The bench's emulator data: the demo bucket (MobileNetV2 in every format) and `tfscope-bench` with a
~100 MB .keras and .h5 (ResNet50), built once into the user cache and reused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tui.demo import DEMO_BUCKET, demo_data_dir, ensure_demo_data

BENCH_BUCKET = "tfscope-bench"
BENCH_VERSION = "bench-v1"  # bump when the bench's models change
BIG_MODELS = ("resnet50.keras", "resnet50.h5", "resnet50_10.keras")


def ensure_bench_data(cache_root: Path | None = None) -> Path:
    """The `-data` folder for the bench's emulator: `<it>/tfscope-demo/...` and `<it>/tfscope-bench/...`,
    under `cache_root` (default: the user cache, where `make demo` builds the demo bucket too)."""
    demo = ensure_demo_data(demo_data_dir(cache_root))
    data = demo.parent / BENCH_VERSION
    big = data / BENCH_BUCKET
    if not all((big / name).is_file() for name in BIG_MODELS):
        print(f"Building the bench's ResNet50 models once into {big} (TensorFlow, ~30 s)...", flush=True)
        staging = data / f".{BENCH_BUCKET}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        script = Path(__file__).with_name("build_models.py")
        subprocess.run([sys.executable, str(script), str(staging)], env=env, check=True, capture_output=True)
        shutil.rmtree(big, ignore_errors=True)
        staging.rename(big)
    if not (data / DEMO_BUCKET).is_dir():
        _link_tree(demo / DEMO_BUCKET, data / DEMO_BUCKET)
    return data


def _link_tree(source: Path, dest: Path) -> None:
    """Hard links (no copy of the demo's 110 MB) where the file system allows them."""
    staging = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, staging, copy_function=link)
    staging.rename(dest)
