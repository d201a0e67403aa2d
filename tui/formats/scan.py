"""A whole prefix at once: every model under it, found from one listing and inspected in parallel.

`tfscope scan` and the TUI's scan screen use it. The listing is walked once: a folder holding
`saved_model.pb` is a SavedModel with everything under it (its variables and assets are not models of
their own); a folder with a checkpoint is a checkpoint; a `.keras`, `.h5` or `.tflite` anywhere else is
a model file. Each model is then read by `inspect_model` with the objects the listing gave it, so a
SavedModel costs one round of parallel reads and a file no stat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from tui.errors import ListingStoppedError, NotFoundError, TfscopeError
from tui.formats.inspect import inspect_model
from tui.formats.kinds import ArtifactKind
from tui.formats.limits import InspectionCancelled
from tui.formats.model_info import ModelInfo
from tui.formats.registry import checkpoint_prefixes, folder_kind, kind_from_name
from tui.storage import Entry, Location, Store

JOBS = 32
"""Models read at once. Most reads have a request or two in flight (a SavedModel reads its side files in
parallel; objects up to 1 MiB are read whole); a large .h5 or .keras walks its headers in rounds of up to
storage.ranged.PARALLEL_FETCHES, so a bucket of big Keras files can pass the store's connection pool
(storage/gcs.py), whose extra connections are opened and dropped, not queued."""
MAX_OBJECTS = 500_000
"""Objects a scan lists before it stops (about 400 MB of entries; a listing also stops after
storage.listing_guard.LISTING_SECONDS): a bucket that size is scanned a prefix at a time."""


@dataclass(frozen=True)
class FoundModel:
    """A model the listing shows: where, which kind its names say, and its objects."""

    location: Location
    kind: ArtifactKind
    files: tuple[Entry, ...]

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self.files)


@dataclass(frozen=True)
class ScanResult:
    """One model, read (`info`) or not (`error`, a message with its fix)."""

    found: FoundModel
    info: ModelInfo | None = None
    error: TfscopeError | None = None


@dataclass
class ScanReport:
    """What a scan found, in name order."""

    location: Location
    results: list[ScanResult] = field(default_factory=list)
    objects: int = 0
    """Objects listed under the prefix."""
    truncated: bool = False
    """The listing stopped at MAX_OBJECTS, or at the listing's time cap."""

    @property
    def with_findings(self) -> list[ScanResult]:
        return [r for r in self.results if r.info is not None and r.info.findings]

    @property
    def unreadable(self) -> list[ScanResult]:
        return [r for r in self.results if r.error is not None]


Progress = Callable[[ScanResult, int, int], object]
"""Called as each model is read: the result, how many are done, how many there are."""


def scan(
    store: Store,
    location: Location,
    jobs: int = JOBS,
    on_listed: Callable[[list[FoundModel]], object] | None = None,
    on_result: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ScanReport:
    """List everything under `location`, find the models, inspect each, `jobs` at a time.

    A model that cannot be read is a result with an error, not a failed scan; a failed listing raises.

    Raises:
        TfscopeError: the prefix cannot be listed (missing, no access, network), or the scan was cancelled.
    """
    report = ScanReport(location)
    entries = _list(store, location, report, cancelled)
    found = find_models(entries, report.location)
    del entries
    if on_listed is not None:
        on_listed(found)
    results: dict[Location, ScanResult] = {}
    for result in _inspect_all(store, found, jobs, cancelled):
        results[result.found.location] = result
        if on_result is not None:
            on_result(result, len(results), len(found))
    report.results = [results[f.location] for f in found]
    return report


def _list(store: Store, location: Location, report: ScanReport, cancelled: Callable[[], bool]) -> list[Entry]:
    if not location.is_dir:  # a single file, or a gs:// prefix typed without its slash
        try:
            return [Entry(location, store.stat(location))]
        except NotFoundError:
            if not location.is_gcs:
                raise
            location = report.location = location.as_dir()
    entries: list[Entry] = []
    try:
        for page in store.list_recursive(location):
            if cancelled():
                raise InspectionCancelled(f"The scan of {location.uri} was stopped.")
            entries.extend(page)
            if len(entries) >= MAX_OBJECTS:
                report.truncated = True
                break
    except ListingStoppedError:  # the listing's time cap: what was listed is scanned, and the report says so
        report.truncated = True
    if not entries:
        raise NotFoundError(f"Nothing under {location.uri}.", "Check the path; names are case-sensitive.")
    report.objects = len(entries)
    return entries


def find_models(entries: Iterable[Entry], root: Location) -> list[FoundModel]:
    """The models among a recursive listing of `root`, in name order (see the module's docstring)."""
    objects = sorted((e for e in entries if not e.is_dir), key=lambda e: e.location.path)
    if len(objects) == 1 and objects[0].location == root:  # the root is a file
        kind = kind_from_name(root.name)
        return [FoundModel(root, kind, tuple(objects))] if kind is not None else []

    def folder_path(head: str) -> str:  # "a/b" -> "a/b/"; a bucket's top is "", a disk's "/"
        return head + "/" if head or not root.is_gcs else ""

    children: dict[str, set[str]] = {}
    """Folder path -> names directly inside it ("variables/" for a sub-folder)."""
    for entry in objects:
        parent, _, name = entry.location.path.rpartition("/")
        children.setdefault(folder_path(parent), set()).add(name)
        while len(folder_path(parent)) > len(root.path):
            grand, _, folder = parent.rpartition("/")
            names = children.setdefault(folder_path(grand), set())
            if folder + "/" in names:
                break  # this folder and its ancestors are known already
            names.add(folder + "/")
            parent = grand
    found: list[FoundModel] = []
    inside: str | None = None
    """The SavedModel folder being walked: what is under it belongs to it."""
    for folder in sorted(children):
        if inside is not None and folder.startswith(inside):
            continue
        inside = None
        names = children[folder]
        here = Location(root.scheme, root.bucket, folder)
        kind = folder_kind(names)
        if kind is ArtifactKind.SAVED_MODEL:
            inside = folder
            found.append(FoundModel(here, kind, tuple(_under(objects, folder))))
            continue
        checkpoint_files: set[str] = set()
        if kind is ArtifactKind.CHECKPOINT:
            checkpoint_files = _checkpoint_files(names)
            found.append(FoundModel(here, kind, tuple(e for e in _under(objects, folder) if "/" not in
                                                      e.location.path[len(folder) :])))  # fmt: skip
        for name in sorted(n for n in names if not n.endswith("/") and n not in checkpoint_files):
            file_kind = kind_from_name(name)
            if file_kind is not None and file_kind is not ArtifactKind.CHECKPOINT:
                entry = next(_under(objects, folder + name))
                found.append(FoundModel(here.child(name), file_kind, (entry,)))
    found.sort(key=lambda f: f.location.path)
    return found


def _under(objects: list[Entry], prefix: str) -> Iterator[Entry]:
    """Objects whose path starts with `prefix` (`objects` is sorted by path: a binary search, then a walk)."""
    import bisect

    start = bisect.bisect_left(objects, prefix, key=lambda e: e.location.path)
    for entry in objects[start:]:
        if not entry.location.path.startswith(prefix):
            return
        yield entry


def _checkpoint_files(names: set[str]) -> set[str]:
    """A checkpoint folder's own files: the state file, each prefix's index and data shards."""
    prefixes = checkpoint_prefixes(names)
    own = {"checkpoint"} & names
    return own | {n for n in names if any(n.startswith(p + ".") for p in prefixes)}


def _inspect_all(
    store: Store, found: list[FoundModel], jobs: int, cancelled: Callable[[], bool]
) -> Iterator[ScanResult]:
    """Each model's result as it is read, `jobs` at a time; stops soon after `cancelled` turns true."""
    stop = threading.Event()

    def stopped() -> bool:
        if not stop.is_set() and cancelled():
            stop.set()
        return stop.is_set()

    def read(model: FoundModel) -> ScanResult:
        try:
            info = inspect_model(store, model.location, cancelled=stopped, listed=model.files)
        except TfscopeError as error:
            return ScanResult(model, error=error)
        return ScanResult(model, info)

    pending = iter(found)
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="tfscope-scan") as pool:
        running: set[Future[ScanResult]] = set()
        try:
            while True:
                # Submitted a few at a time, not all at once: a cancel leaves little queued behind it.
                while len(running) < jobs * 2 and not stopped():
                    model = next(pending, None)
                    if model is None:
                        break
                    running.add(pool.submit(read, model))
                if not running:
                    break
                done, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                if stopped():
                    raise InspectionCancelled("The scan was stopped.")
        finally:
            stop.set()
            for future in running:
                future.cancel()
