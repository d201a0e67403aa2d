"""Temporary folders that go away on every exit path, and are swept up after a crash.

Each folder holds a lock file its process keeps locked. A normal exit removes the folder (atexit);
after a kill -9 the kernel releases the lock, and the next tfscope to make a folder of the same
purpose removes it. A folder whose lock is held belongs to a live process and is never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
from pathlib import Path

OWNER_LOCK = ".tfscope-owner.lock"
_held: dict[Path, int] = {}
"""Folders this process made, with the descriptor of the lock that marks them as in use."""
_lock = threading.Lock()


def try_lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created if missing) without waiting: its descriptor, or None if held."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


def make_temp_dir(purpose: str) -> Path:
    """A new private folder `tfscope-<purpose>-*` in the system's temp folder, removed at exit."""
    sweep(purpose)
    path = Path(tempfile.mkdtemp(prefix=f"tfscope-{purpose}-"))
    fd = try_lock(path / OWNER_LOCK)
    assert fd is not None  # nobody else knows this folder yet
    with _lock:
        _held[path] = fd
    return path


def remove_temp_dir(path: Path) -> None:
    """Remove a folder made by `make_temp_dir` (safe to call twice)."""
    with _lock:
        fd = _held.pop(path, None)
    shutil.rmtree(path, ignore_errors=True)
    if fd is not None:
        unlock(fd)


def sweep(purpose: str) -> None:
    """Remove folders of this purpose left behind by processes that are gone."""
    for candidate in Path(tempfile.gettempdir()).glob(f"tfscope-{purpose}-*"):
        if candidate in _held or candidate.is_symlink() or not candidate.is_dir():
            continue
        try:
            fd = try_lock(candidate / OWNER_LOCK)
        except OSError:
            continue  # not ours to judge (another user's, or read-only)
        if fd is not None:
            shutil.rmtree(candidate, ignore_errors=True)
            unlock(fd)


@atexit.register
def _remove_all() -> None:
    for path in list(_held):
        remove_temp_dir(path)
