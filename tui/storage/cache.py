"""The local model cache: artifacts downloaded once, verified, and reused.

Entries are keyed by bucket/object/generation, so a new upload is a new entry and an old one is
never served for it. Each file is downloaded in parallel ranged chunks into a temporary name,
checked against the object's crc32c, then renamed into place: a half-written or corrupt file is
never visible under its real name. The cache is capped in size and evicts the least recently used
entries. Local artifacts are not copied: they load in place.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from tui.errors import CorruptArtifactError, TfscopeError
from tui.storage.base import Entry, Store
from tui.storage.uri import Location

CHUNK = 8 * 1024 * 1024
"""Bytes per ranged request; big files are split into many, fetched in parallel."""
WORKERS = 8
DEFAULT_MAX_BYTES = 20 * 1024**3
COMPLETE = ".complete"
"""Marker written last into an entry folder: without it the entry is a leftover and is rebuilt."""


class DownloadCancelled(TfscopeError):
    title = "Download cancelled"


@dataclass
class Progress:
    """Where a download stands; `rate` in bytes per second."""

    done_bytes: int
    total_bytes: int
    done_files: int
    total_files: int
    rate: float

    @property
    def eta(self) -> float | None:
        remaining = self.total_bytes - self.done_bytes
        return remaining / self.rate if self.rate > 0 else None


ProgressCallback = Callable[[Progress], None]


class ModelCache:
    """A folder of verified artifact copies, capped at `max_bytes`."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def entry_dir(self, location: Location, generation: int | None) -> Path:
        key = f"{location.bucket}/{location.path.rstrip('/')}@{generation or 0}"
        safe = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        return self.root / safe[:200]

    def fetch(
        self,
        store: Store,
        location: Location,
        files: list[Entry],
        *,
        progress: ProgressCallback | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> tuple[Path, int]:
        """Make sure the artifact's `files` are cached; return (local path, bytes downloaded).

        `files` come from a listing (they carry size, generation and crc32c). A folder artifact's
        entry mirrors its layout; a single object is stored under its name.
        """
        generation = max((f.stat.generation or 0 for f in files if f.stat), default=0)
        entry = self.entry_dir(location, generation)
        target = entry / (location.name.rstrip("/") or "artifact")
        if (entry / COMPLETE).exists():
            os.utime(entry / COMPLETE)  # most recently used
            return target, 0
        shutil.rmtree(entry, ignore_errors=True)
        total = sum(f.size or 0 for f in files)
        self._make_room(total)
        entry.mkdir(parents=True, exist_ok=True)
        tracker = _Tracker(total, len(files), progress)
        prefix = location.as_dir().path if location.is_dir else location.parent.path
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="tfscope-download")
        try:
            jobs = []
            for f in files:
                dest = target / f.location.path[len(prefix) :] if location.is_dir else target
                jobs.append(pool.submit(_download_file, store, f, dest, tracker, cancelled))
            wait(jobs, return_when=FIRST_EXCEPTION)
            for job in jobs:
                if job.done():
                    job.result()  # the first failure, raised here, stops the others below
            for job in jobs:
                job.result()
        except BaseException:
            tracker.abort()  # running chunks stop at their next check
            pool.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(entry, ignore_errors=True)  # nothing half-written stays behind
            raise
        pool.shutdown()
        (entry / COMPLETE).write_text(location.uri)
        return target, total

    def _make_room(self, incoming: int) -> None:
        """Evict least recently used entries until `incoming` more bytes fit under the cap."""
        if not self.root.is_dir():
            return
        entries = []
        for child in self.root.iterdir():
            marker = child / COMPLETE
            if child.is_dir() and marker.exists():
                size = sum(p.stat().st_size for p in child.rglob("*") if p.is_file())
                entries.append((marker.stat().st_mtime, size, child))
            elif child.is_dir() and time.time() - child.stat().st_mtime > 3600:
                shutil.rmtree(child, ignore_errors=True)  # an old leftover of an interrupted download
        used = sum(size for _, size, _ in entries)
        for _, size, child in sorted(entries):
            if used + incoming <= self.max_bytes:
                break
            shutil.rmtree(child, ignore_errors=True)
            used -= size


class _Tracker:
    """Counts bytes and files across worker threads and reports progress, at most ~10 times a second."""

    def __init__(self, total: int, files: int, callback: ProgressCallback | None) -> None:
        self.total, self.files, self.callback = total, files, callback
        self.done = self.done_files = 0
        self.start = time.monotonic()
        self.last_report = float("-inf")  # the first chunk is reported at once
        self.aborted = False
        self.lock = threading.Lock()

    def add(self, nbytes: int, file_done: bool = False) -> None:
        with self.lock:
            self.done += nbytes
            self.done_files += int(file_done)
            now = time.monotonic()
            if self.callback is None or (now - self.last_report < 0.1 and not file_done):
                return
            self.last_report = now
            rate = self.done / max(now - self.start, 1e-6)
            progress = Progress(self.done, self.total, self.done_files, self.files, rate)
        self.callback(progress)

    def abort(self) -> None:
        self.aborted = True


def _download_file(store: Store, entry: Entry, dest: Path, tracker: _Tracker, cancelled: Callable[[], bool]) -> None:
    """One file: ranged chunks in parallel into `dest.partial`, crc32c checked, renamed into place."""
    import google_crc32c

    size = entry.size or 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    with open(partial, "wb") as out:
        out.truncate(size)
    lock = threading.Lock()

    def check() -> None:
        if cancelled() or tracker.aborted:
            raise DownloadCancelled(f"Stopped downloading {entry.location.uri}.", "Press l to load again.")

    def chunk(start: int) -> None:
        check()
        data = store.read_range(entry.location, start, min(CHUNK, size - start))
        check()  # a chunk that arrives after cancel is dropped, not written
        with lock, open(partial, "r+b") as out:
            out.seek(start)
            out.write(data)
        tracker.add(len(data))

    starts = list(range(0, size, CHUNK))
    if len(starts) <= 1:
        for start in starts:
            chunk(start)
    else:
        # Chunks of a big file run on a pool of their own: the shared pool is busy with whole files.
        with ThreadPoolExecutor(min(WORKERS, len(starts)), thread_name_prefix="tfscope-chunk") as chunks:
            for future in [chunks.submit(chunk, s) for s in starts]:
                future.result()
    expected = entry.stat.crc32c if entry.stat else None
    if expected:
        crc = 0
        with open(partial, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                crc = google_crc32c.extend(crc, block)
        actual = base64.b64encode(crc.to_bytes(4, "big")).decode()
        if actual != expected:
            raise CorruptArtifactError(
                f"{entry.location.uri} arrived damaged: crc32c {actual}, the bucket says {expected}.",
                "Press l to download it again; if it persists, the object itself may be damaged.",
                title="Download failed its checksum",
            )
    os.replace(partial, dest)
    tracker.add(0, file_done=True)
