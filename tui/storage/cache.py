"""The local model cache: artifacts downloaded once, checked before every use, shared safely.

Layout under the cache root (made private, 0700):

    <key>/manifest.json   each file's relative path, size and crc32c, written last
    <key>/<name>          the artifact: its folder, or its file (with its checkpoint shards beside it)
    <key>.lock            held while one process downloads or checks the entry
    <key>.tmp-<random>/   a download in progress: renamed to <key>/ only when every file is verified

`key` is a SHA-256 of the bucket, the artifact's path and every file's name, generation and size:
an upload that changes any file makes a new entry, and names of any length cannot collide. Local
paths come from `local_paths` (derived, never trusted), and a second process that wants the same
entry waits for the first one's download and reuses it. Local artifacts are not copied.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.errors import CorruptArtifactError, NotFoundError, TfscopeError
from tui.storage.base import Entry, Store
from tui.storage.local_paths import Layout, Placed, Skipped, inside, lay_out, safe_file_name
from tui.storage.scratch import make_temp_dir, remove_temp_dir, try_lock, unlock
from tui.storage.uri import Location

CHUNK = 8 * 1024 * 1024
"""Bytes per ranged request; big files are split into many, fetched in parallel."""
WORKERS = 8
DEFAULT_MAX_BYTES = 20 * 1024**3
MANIFEST = "manifest.json"
LOCK_POLL = 0.1
"""Seconds between tries for an entry another process holds (a cancel is noticed this fast)."""


class DownloadCancelled(TfscopeError):
    title = "Download cancelled"


class CacheError(TfscopeError):
    title = "Model cache unusable"


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
PhaseCallback = Callable[[str], None]


@dataclass
class Cached:
    """A cached artifact, ready to load."""

    path: Path
    """The artifact's local folder or file."""
    downloaded: int
    """Bytes fetched for this call (0 on a cache hit)."""
    skipped: list[Skipped] = field(default_factory=list)
    """Objects left out because their names cannot be local files (folder markers not included)."""
    repaired: bool = False
    """The entry was there but failed its check, so it was dropped and downloaded again."""


class ModelCache:
    """A folder of verified artifact copies, capped at `max_bytes` (least recently used go first)."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, *, temporary: bool = False) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.temporary = temporary
        """A throwaway cache (--no-cache): `close()` removes it, and so does the process's exit."""

    @classmethod
    def throwaway(cls) -> ModelCache:
        """A cache in a private temp folder that is removed at exit (and swept after a crash)."""
        return cls(make_temp_dir("nocache"), temporary=True)

    def close(self) -> None:
        """Remove a throwaway cache's folder; a persistent cache stays."""
        if self.temporary:
            remove_temp_dir(self.root)

    def fetch(
        self,
        store: Store,
        location: Location,
        files: list[Entry],
        *,
        progress: ProgressCallback | None = None,
        on_phase: PhaseCallback = lambda phase: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Cached:
        """Make sure the artifact is cached and intact; return where it is.

        `files` come from a listing (they carry size, generation and crc32c): every object under a
        folder artifact, or a file artifact's object and the siblings it needs (checkpoint shards).
        """
        layout, target = _plan(location, files)
        key = _key(location, layout)
        with _cache_errors(self.root):
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._entry_lock(key, on_phase, cancelled):
                entry = self.root / key
                repaired = False
                if entry.exists():
                    on_phase("verify")
                    if _intact(entry, cancelled):
                        os.utime(entry / MANIFEST)  # most recently used
                        return Cached(entry / target, 0, layout.notable_skips)
                    shutil.rmtree(entry, ignore_errors=True)
                    repaired = True
                self._sweep_leftovers()
                total = sum(p.entry.size or 0 for p in layout.placed)
                self._make_room(total, keep=key)
                on_phase("download")
                self._download(store, layout, target, entry, total, progress, cancelled)
                return Cached(entry / target, total, layout.notable_skips, repaired)

    @contextlib.contextmanager
    def _entry_lock(self, key: str, on_phase: PhaseCallback, cancelled: Callable[[], bool]) -> Iterator[None]:
        """Hold `<key>.lock`; while another process holds it (downloading the same model), wait."""
        told = False
        while (fd := try_lock(self.root / f"{key}.lock")) is None:
            if cancelled():
                raise DownloadCancelled("Stopped waiting for another tfscope's download.", "Press l to load again.")
            if not told:
                on_phase("wait for another tfscope's download")
                told = True
            time.sleep(LOCK_POLL)
        try:
            yield
        finally:
            unlock(fd)

    def _download(
        self,
        store: Store,
        layout: Layout,
        target: str,
        entry: Path,
        total: int,
        progress: ProgressCallback | None,
        cancelled: Callable[[], bool],
    ) -> None:
        """Every placed file into a temporary folder, verified, then the folder renamed into place."""
        staging = entry.with_name(f"{entry.name}.tmp-{os.urandom(4).hex()}")
        staging.mkdir(mode=0o700)
        base = staging / target if target.endswith("/") else staging
        tracker = _Tracker(total, len(layout.placed), progress)
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="tfscope-download")
        try:
            jobs = [pool.submit(_download_file, store, p, _destination(base, p), tracker, cancelled)
                    for p in layout.placed]  # fmt: skip
            wait(jobs, return_when=FIRST_EXCEPTION)
            for job in jobs:
                if job.done():
                    job.result()  # the first failure, raised here, stops the others below
            manifest = {"files": {p.relative: job.result() for p, job in zip(layout.placed, jobs, strict=True)}}
            _write_manifest(staging, manifest, base.relative_to(staging))
            os.rename(staging, entry)
        except BaseException:
            tracker.abort()  # running chunks stop at their next check
            pool.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(staging, ignore_errors=True)  # nothing half-written stays behind
            raise
        pool.shutdown()

    def _sweep_leftovers(self) -> None:
        """Remove downloads whose process died (their entry's lock is free again)."""
        for staging in self.root.glob("*.tmp-*"):
            fd = try_lock(self.root / (staging.name.split(".tmp-")[0] + ".lock"))
            if fd is not None:
                shutil.rmtree(staging, ignore_errors=True)
                unlock(fd)

    def _make_room(self, incoming: int, keep: str) -> None:
        """Evict least recently used entries until `incoming` more bytes fit; entries in use stay."""
        entries = []
        for child in self.root.iterdir():
            marker = child / MANIFEST
            if child.name != keep and child.is_dir() and not child.is_symlink() and marker.exists():
                size = sum(p.stat().st_size for p in child.rglob("*") if p.is_file())
                entries.append((marker.stat().st_mtime, size, child))
        used = sum(size for _, size, _ in entries)
        for _, size, child in sorted(entries):
            if used + incoming <= self.max_bytes:
                break
            fd = try_lock(self.root / f"{child.name}.lock")
            if fd is None:
                continue  # another process is checking or reading it right now
            shutil.rmtree(child, ignore_errors=True)
            unlock(fd)
            used -= size


def _plan(location: Location, files: list[Entry]) -> tuple[Layout, str]:
    """Where each file goes inside an entry, and the artifact's path there ("name/" for a folder)."""
    if location.is_dir:
        layout = lay_out(location.as_dir().path, files)
        if not layout.placed:
            reasons = "; ".join(f"{s.name}: {s.reason}" for s in layout.notable_skips[:3])
            raise NotFoundError(f"Nothing under {location.uri} can be downloaded" + (f" ({reasons})." if reasons
                                else "."), "Check the folder: it holds no files.")  # fmt: skip
        return layout, safe_file_name(location.name.rstrip("/"), "model") + "/"
    layout = lay_out(location.parent.path, files)
    own = location.path[len(location.parent.path) :]
    if not any(p.relative == own for p in layout.placed):
        # Only a file alone can be renamed: a checkpoint's shards are found by its prefix.
        if len(files) != 1:
            raise CacheError(f"{location.uri} cannot be stored under its name locally.", "Rename the objects.")
        name = safe_file_name(own, "model")
        return Layout([Placed(files[0], name)], []), name
    return layout, own


def _key(location: Location, layout: Layout) -> str:
    listed = sorted((p.relative, p.entry.stat.generation if p.entry.stat else None, p.entry.size)
                    for p in layout.placed)  # fmt: skip
    text = json.dumps([location.scheme, location.bucket, location.path, listed])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def _destination(base: Path, placed: Placed) -> Path:
    dest = base.joinpath(*placed.relative.split("/"))
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not inside(base, dest):  # names were checked; links would have to come from somebody else
        raise CacheError(f"{placed.entry.location.uri} would be written outside the cache entry: refused.")
    return dest


def _write_manifest(staging: Path, manifest: dict[str, Any], base: Path) -> None:
    manifest["base"] = base.as_posix()
    with open(staging / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f)
        f.flush()
        os.fsync(f.fileno())


def _intact(entry: Path, cancelled: Callable[[], bool]) -> bool:
    """Every file the manifest lists is there with its size and crc32c (a cheap read: see make bench)."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        base = entry / manifest["base"]
        for relative, expected in manifest["files"].items():
            if cancelled():
                raise DownloadCancelled("Stopped checking the cached copy.", "Press l to load again.")
            path = base.joinpath(*relative.split("/"))
            if not inside(entry, path) or path.is_symlink() or path.stat().st_size != expected["size"]:
                return False
            if crc32c_of(path) != expected["crc32c"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def crc32c_of(path: Path) -> str:
    """The file's crc32c as GCS writes it (base64 of the big-endian value)."""
    import google_crc32c

    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            crc = google_crc32c.extend(crc, block)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


@contextlib.contextmanager
def _cache_errors(root: Path) -> Iterator[None]:
    """The OS's errors on the cache folder (a full disk, a file in the way) as a message with the fix."""
    try:
        yield
    except TfscopeError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            detail = f"The disk holding the model cache ({root}) is full."
        else:
            detail = f"Cannot use the model cache at {root}: {exc.strerror or exc}."
        raise CacheError(detail, "Free some space, or start tfscope with --cache-dir DIR (or --no-cache).") from exc


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


def _download_file(
    store: Store, placed: Placed, dest: Path, tracker: _Tracker, cancelled: Callable[[], bool]
) -> dict[str, Any]:
    """One file: ranged chunks in parallel, its crc32c checked; returns its manifest record."""
    entry = placed.entry
    size = entry.size or 0
    with open(dest, "wb") as out:
        out.truncate(size)
    lock = threading.Lock()

    def check() -> None:
        if cancelled() or tracker.aborted:
            raise DownloadCancelled(f"Stopped downloading {entry.location.uri}.", "Press l to load again.")

    def chunk(start: int) -> None:
        check()
        generation = entry.stat.generation if entry.stat else None
        data = store.read_range(entry.location, start, min(CHUNK, size - start), generation)
        check()  # a chunk that arrives after cancel is dropped, not written
        if len(data) != min(CHUNK, size - start):
            raise CorruptArtifactError(
                f"{entry.location.uri} sent {len(data):,} bytes at offset {start:,} where the listing promised "
                f"{min(CHUNK, size - start):,}: it changed during the download.",
                "Press l to download it again.",
            )
        with lock, open(dest, "r+b") as out:
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
    actual = crc32c_of(dest)
    expected = entry.stat.crc32c if entry.stat else None
    if expected and actual != expected:
        raise CorruptArtifactError(
            f"{entry.location.uri} arrived damaged: crc32c {actual}, the bucket says {expected}.",
            "Press l to download it again; if it persists, the object itself may be damaged.",
            title="Download failed its checksum",
        )
    tracker.add(0, file_done=True)
    return {"size": size, "crc32c": actual}
