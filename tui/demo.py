"""`tfscope --demo`: a local GCS emulator seeded with real models, and the TUI on it.

The models are built once with TensorFlow, in a child process (so this process never imports it),
into the user cache folder, and reused on every later run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from tui.errors import TfscopeError
from tui.settings import Settings

DEMO_BUCKET = "tfscope-demo"
DEMO_VERSION = "demo-v1"  # bump when the demo's content changes, so old caches are rebuilt


def demo_data_dir(cache_root: Path | None = None) -> Path:
    """The emulator's `-data` folder: `<it>/<bucket>/<object path>`."""
    if cache_root is None:
        from platformdirs import user_cache_dir

        cache_root = Path(user_cache_dir("tfscope"))
    return cache_root / DEMO_VERSION


def ensure_demo_data(data_dir: Path, small: bool = False) -> Path:
    """Build the demo bucket's objects unless a complete earlier build is there; return the data dir."""
    bucket_dir = data_dir / DEMO_BUCKET
    for stale in data_dir.glob(f".{DEMO_BUCKET}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was interrupted
    if bucket_dir.is_dir():
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Building the demo models once into {bucket_dir} (TensorFlow, about a minute)...", flush=True)
    command = [sys.executable, "-m", "tui.runtime.demo_models", str(bucket_dir)] + (["--small"] if small else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as child:
        assert child.stdout is not None
        tail: list[str] = []
        for line in child.stdout:
            if line.startswith("["):
                print("  " + line.rstrip(), flush=True)
            tail = (tail + [line.rstrip()])[-15:]
    if child.returncode != 0:
        raise TfscopeError(
            "Building the demo models failed:\n" + "\n".join(tail),
            "Check that TensorFlow is installed (`make demo` installs it).",
            title="Demo build failed",
        )
    return data_dir


def run_demo(settings: Settings) -> int:
    """Build (once) and serve the demo bucket, run the TUI on it, stop the emulator on exit."""
    from tui.cli import make_app
    from tui.storage.emulator import Emulator, offline_env

    os.environ.update(offline_env())
    try:
        data_dir = ensure_demo_data(demo_data_dir())
        emulator = Emulator(data_dir, log_path=data_dir.parent / "emulator.log")
        emulator.start()
    except TfscopeError as error:
        print(f"tfscope: {error.one_line()}", file=sys.stderr)
        return 1
    try:
        os.environ.update(emulator.environ())
        start = settings.start or f"gs://{DEMO_BUCKET}/"
        make_app(replace(settings, start=start, anonymous=False)).run()
    finally:
        emulator.stop()
    return 0
