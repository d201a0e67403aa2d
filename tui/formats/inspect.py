"""One entry point: what is at this location, read without TensorFlow."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from tui.errors import CorruptArtifactError, NotFoundError, TfscopeError
from tui.formats.limits import Budget, TooComplexError
from tui.formats.model_info import ModelInfo, printable_copy, walk_layers
from tui.formats.registry import (
    FORMATS,
    SNIFF_BYTES,
    PartialCallback,
    ReadContext,
    folder_kind,
    format_of,
    kind_from_magic,
    kind_from_name,
    needs_siblings,
)
from tui.storage import Entry, Location, ObjectStat, Store, TransferStats

MAX_FOLDER_FILES = 20_000
"""A model folder with more files than this is not a model folder: stop listing."""
MAX_ROWS = {"layers": 50_000, "variables": 500_000, "op types": 20_000, "signatures": 10_000}
"""What a model may hold before it is refused as crafted: real ones stay far below (and screens must draw it)."""


class UnreadableError(CorruptArtifactError):
    """A reader met something it did not expect: tfscope's bug, shown as a message, never a traceback."""

    title = "Could not read the model"
    internal = True
    """Fuzzing counts these as failures: each one is a reader that needs fixing."""


def inspect_model(
    store: Store,
    location: Location,
    on_partial: PartialCallback | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    listed: Sequence[Entry] | None = None,
) -> ModelInfo:
    """Read the model at `location` (a folder or a file) into a ModelInfo.

    `listed` is what a listing already said (a scan walked the bucket): a folder's objects at any depth,
    or a file's own entry. It saves the folder's listing, or the file's stat: a round trip each.

    For .keras and .h5 files, `on_partial` first gets what their config alone says (layers, versions,
    in a few requests) while the weights' headers, one or more requests each, are still being read.
    Work is bounded (see limits.Budget) and stops soon after `cancelled` turns true.

    Raises:
        TfscopeError: not a model, damaged, missing, or storage failed; the message says which.
    """
    stats = store.stats
    before = stats.snapshot() if stats else None
    on_partial = _made_printable(on_partial)
    budget = Budget(location.uri, cancelled)
    try:
        info = _inspect(store, location, on_partial, budget, stats, listed)
        _check_rows(info)
    except TfscopeError as error:
        # A library that met the budget's stop through its file object reports a read error: say why.
        if budget.stopped is None or budget.stopped is error:
            raise
        raise budget.stopped from error
    except Exception as exc:  # RecursionError, MemoryError, a library's own error: still a message
        if budget.stopped is not None:
            raise budget.stopped from exc
        raise UnreadableError(
            f"{location.uri} holds something tfscope's readers did not expect ({type(exc).__name__}: "
            f"{str(exc)[:300]}).",
            "This is a bug in tfscope: please report it, with the file if you can share it.",
        ) from exc
    if stats is not None and before is not None:
        requests, nbytes = stats.snapshot()
        info.requests, info.bytes_read = requests - before[0], nbytes - before[1]
    return printable_copy(info)


def _inspect(
    store: Store,
    location: Location,
    on_partial: PartialCallback | None,
    budget: Budget,
    stats: TransferStats | None,
    listed: Sequence[Entry] | None,
) -> ModelInfo:
    if location.is_gcs and not location.bucket:
        raise TfscopeError("gs:// alone names every bucket, not a model.",
                           "Give a model's path, like gs://bucket/models/resnet/ (browse with `tfscope gs://` to find "
                           "one).", title="Not a model")  # fmt: skip
    if location.is_dir:
        return _inspect_folder(store, location, budget, stats, listed)
    known = listed[0].stat if listed and listed[0].location == location else None
    try:
        return _inspect_file(store, location, on_partial, budget, stats, known)
    except NotFoundError:
        # `gs://b/models/m` may name a folder: GCS has no folders, only prefixes
        if not location.is_gcs:
            raise
        return _inspect_folder(store, location.as_dir(), budget, stats, None)


def _check_rows(info: ModelInfo) -> None:
    counts = {"layers": sum(1 for _ in walk_layers(info.layers)), "variables": len(info.variables),
              "op types": len(info.ops), "signatures": len(info.signatures)}  # fmt: skip
    for what, count in counts.items():
        if count > MAX_ROWS[what]:
            raise TooComplexError(
                f"{info.uri} lists {count:,} {what}; real models have far fewer: refused as crafted or damaged.",
            )


def _made_printable(callback: PartialCallback | None) -> PartialCallback | None:
    """The callback, handed what inspect_model returns too: a copy with printable strings."""
    if callback is None:
        return None
    return lambda info: callback(printable_copy(info))


def _inspect_folder(
    store: Store, folder: Location, budget: Budget, stats: TransferStats | None, listed: Sequence[Entry] | None
) -> ModelInfo:
    with ThreadPoolExecutor(4, thread_name_prefix="tfscope-prefetch") as pool:
        prefetched: dict[str, Future[bytes]] = {}
        for fmt in FORMATS:  # started before the listing returns: a round trip saved on a distant bucket
            if fmt.prefetch is not None and listed is None:
                prefetched.update(fmt.prefetch(store, folder, pool))
        files = list(listed) if listed is not None else list_folder_files(store, folder, budget.check)
        if not files:
            raise NotFoundError(f"Nothing under {folder.uri}.", "Check the path.")
        names = {_direct_name(folder, e) for e in files}
        kind = folder_kind(names)
        if kind is None:
            raise NotAModelError(
                f"{folder.uri} holds no saved_model.pb, checkpoint or checkpoint index.",
                "Open a SavedModel folder, a checkpoint folder, or a .keras/.h5/.tflite file.",
            )
        context = ReadContext(store, folder, budget, stats, files=files, prefetched=prefetched)
        return format_of(kind).read(context)


def _inspect_file(
    store: Store,
    location: Location,
    on_partial: PartialCallback | None,
    budget: Budget,
    stats: TransferStats | None,
    known: ObjectStat | None,
) -> ModelInfo:
    named = kind_from_name(location.name)
    expected = format_of(named) if named is not None else None
    # One open serves the sniff and the reader: the first bytes (and the tail the format starts with) once.
    with store.open(location, known, tail=expected.tail if expected else 0) as opened:
        raw = budget.reader(opened)
        size = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        head = raw.read(SNIFF_BYTES)
        context = ReadContext(store, location, budget, stats, on_partial, raw=raw, size=size, head=head)
        kind = kind_from_magic(head, location.name)
        if kind is None and needs_siblings(location.name):
            context.files = [e for page in store.list_level(location.parent) for e in page]
            kind = kind_from_name(location.name, [e.name for e in context.files])
        if kind is not None:
            return format_of(kind).read(context)
    if expected is not None:
        raise CorruptArtifactError(
            f"{location.uri} is named like a {expected.kind.label} file "
            f"but starts with bytes {head.hex(' ') or '(none)'}.",
            "The file is damaged, truncated or mislabelled: check the upload, or save the model again.",
        )
    raise NotAModelError(
        f"{location.uri} is not a model file tfscope recognises (first bytes: {head.hex(' ') or 'none'}).",
        "tfscope reads SavedModel folders, .keras, .h5, checkpoints and .tflite files.",
    )


def list_folder_files(store: Store, folder: Location, check: Callable[[], None] = lambda: None) -> list[Entry]:
    """Every object under a model folder; more than MAX_FOLDER_FILES is no model (and a listing a hostile
    server never ends stops there, not at the machine's memory). `check` runs per page (a budget, a cancel)."""
    files: list[Entry] = []
    for page in store.list_recursive(folder):
        check()
        files.extend(page)
        if len(files) > MAX_FOLDER_FILES:
            raise NotAModelError(f"{folder.uri} holds more than {MAX_FOLDER_FILES:,} files: not a model folder.")
    return files


def _direct_name(folder: Location, entry: Entry) -> str:
    """The name directly in `folder` that leads to `entry`: its own, or its sub-folder's ("variables/")."""
    relative = entry.location.path[len(folder.path) :]
    head, slash, _ = relative.partition("/")
    return head + slash


class NotAModelError(TfscopeError):
    title = "Not a model"
