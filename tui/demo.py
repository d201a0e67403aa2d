"""`tfscope --demo`: a local GCS emulator seeded with real models, and the TUI on it.

The models are built once with TensorFlow, in a child process (so this process never imports it),
into the user cache folder, and reused on every later run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Build the demo bucket's objects unless a complete earlier build is there; return the data dir.

    One build at a time: a second `tfscope --demo` started meanwhile waits for the first and uses its
    build. Leftovers of interrupted builds are removed only under the lock, when no builder is running.
    """
    bucket_dir = data_dir / DEMO_BUCKET
    data_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(data_dir, wait=not bucket_dir.is_dir()) as locked:
        if locked:
            for stale in data_dir.glob(f".{DEMO_BUCKET}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)  # its builder is gone: we hold the lock
        if not bucket_dir.is_dir():  # (a tfscope we waited for may have built it)
            _build(bucket_dir, small, log=data_dir.parent / "demo-build.log")
    return data_dir


@contextmanager
def _build_lock(data_dir: Path, wait: bool) -> Iterator[bool]:
    """Hold the demo build lock (waiting for it if `wait`); yields whether it is held."""
    import fcntl

    fd = os.open(data_dir / ".build.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            print("Another tfscope is building the demo models: waiting for it...", flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def _build(bucket_dir: Path, small: bool, log: Path) -> None:
    print(f"Building the demo models once into {bucket_dir} (TensorFlow, about a minute)...", flush=True)
    command = [sys.executable, "-m", "tui.runtime.demo_models", str(bucket_dir)] + (["--small"] if small else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    output: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("["):
                print("  " + line.rstrip(), flush=True)
            output.append(line)
    if child.returncode != 0:
        log.write_text("".join(output))
        lines = [line.strip() for line in output if line.strip()]
        cause = lines[-1] if lines else f"the builder exited with code {child.returncode}"
        missing_tf = any("No module named 'tensorflow'" in line for line in lines)
        raise TfscopeError(
            f"Building the demo models failed: {cause}",
            "Install TensorFlow (`make demo` does)." if missing_tf
            else f"Run `tfscope --demo` again; the builder's whole output is in {log}.",
            title="Demo build failed",
        )  # fmt: skip


def run_demo(settings: Settings) -> int:
    """Build (once) and serve the demo bucket, run the TUI on it, stop the emulator on exit."""
    from tui.launch import make_app
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
