"""One entry point: what is at this location, read without TensorFlow."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from tui.errors import CorruptArtifactError, NotFoundError, TfscopeError
from tui.formats.checkpoint import read_checkpoint
from tui.formats.hdf5 import read_hdf5
from tui.formats.keras_v3 import read_keras
from tui.formats.limits import Budget, TooComplexError
from tui.formats.model_info import Layer, ModelInfo, printable_copy
from tui.formats.savedmodel import GUESSED_FILES, guess_reads, read_saved_model
from tui.formats.tflite_model import read_tflite
from tui.storage import ArtifactKind, Entry, Location, Store
from tui.storage.detect import SNIFF_BYTES, folder_kind, kind_from_magic, kind_from_name
from tui.storage.gcs import GcsStore

MAX_FOLDER_FILES = 20_000
"""A model folder with more files than this is not a model folder: stop listing."""
MAX_ROWS = {"layers": 50_000, "variables": 500_000, "op types": 20_000, "signatures": 10_000}
"""What a model may hold before it is refused as crafted: real ones stay far below (and screens must draw it)."""


PartialCallback = Callable[[ModelInfo], None]


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
) -> ModelInfo:
    """Read the model at `location` (a folder or a file) into a ModelInfo.

    For .keras and .h5 files, `on_partial` first gets what their config alone says (layers, versions,
    in a few requests) while the weights' headers, one or more requests each, are still being read.
    Work is bounded (see limits.Budget) and stops soon after `cancelled` turns true.

    Raises:
        TfscopeError: not a model, damaged, missing, or storage failed; the message says which.
    """
    stats = store.stats if isinstance(store, GcsStore) else None
    before = stats.snapshot() if stats else None
    on_partial = _made_printable(on_partial)
    budget = Budget(location.uri, cancelled)
    try:
        info = _inspect(store, location, on_partial, budget)
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


def _inspect(store: Store, location: Location, on_partial: PartialCallback | None, budget: Budget) -> ModelInfo:
    if location.is_gcs and not location.bucket:
        raise TfscopeError("gs:// alone names every bucket, not a model.",
                           "Give a model's path, like gs://bucket/models/resnet/ (browse with `tfscope gs://` to find "
                           "one).", title="Not a model")  # fmt: skip
    if location.is_dir:
        return _inspect_folder(store, location, budget)
    try:
        return _inspect_file(store, location, on_partial, budget)
    except NotFoundError:
        # `gs://b/models/m` may name a folder: GCS has no folders, only prefixes
        if not location.is_gcs:
            raise
        return _inspect_folder(store, location.as_dir(), budget)


def _check_rows(info: ModelInfo) -> None:
    counts = {"layers": _count_layers(info.layers), "variables": len(info.variables), "op types": len(info.ops),
              "signatures": len(info.signatures)}  # fmt: skip
    for what, count in counts.items():
        if count > MAX_ROWS[what]:
            raise TooComplexError(
                f"{info.uri} lists {count:,} {what}; real models have far fewer: refused as crafted or damaged.",
            )


def _count_layers(layers: list[Layer]) -> int:
    return sum(1 + _count_layers(layer.children) for layer in layers)


def _made_printable(callback: PartialCallback | None) -> PartialCallback | None:
    """The callback, handed what inspect_model returns too: a copy with printable strings."""
    if callback is None:
        return None
    return lambda info: callback(printable_copy(info))


def _inspect_folder(store: Store, folder: Location, budget: Budget) -> ModelInfo:
    with ThreadPoolExecutor(len(GUESSED_FILES), thread_name_prefix="tfscope-guess") as pool:
        guesses = guess_reads(store, folder, pool) if folder.is_gcs else {}
        return _read_folder(store, folder, guesses, budget)


def _read_folder(store: Store, folder: Location, guesses: dict[str, Future[bytes]], budget: Budget) -> ModelInfo:
    files = _list_files(store, folder, budget)
    if not files:
        raise NotFoundError(f"Nothing under {folder.uri}.", "Check the path.")
    direct = {_relative(folder, e).split("/")[0] + ("/" if "/" in _relative(folder, e) else "") for e in files}
    kind = folder_kind(direct)
    if kind is ArtifactKind.SAVED_MODEL:
        return read_saved_model(store, folder, files, guesses=guesses, budget=budget)
    if kind is ArtifactKind.CHECKPOINT:
        return read_checkpoint(store, folder, [e for e in files if "/" not in _relative(folder, e)], budget)
    raise NotAModelError(
        f"{folder.uri} holds no saved_model.pb, checkpoint or checkpoint index.",
        "Open a SavedModel folder, a checkpoint folder, or a .keras/.h5/.tflite file.",
    )


def _inspect_file(store: Store, location: Location, on_partial: PartialCallback | None, budget: Budget) -> ModelInfo:
    # One open (one stat) serves the sniff and the reader: the first block is fetched once.
    with store.open(location) as opened:
        raw = budget.reader(opened)
        size = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        head = raw.read(SNIFF_BYTES)
        return _read_file(store, location, raw, size, head, on_partial, budget)


def _read_file(
    store: Store,
    location: Location,
    raw: BinaryIO,
    size: int,
    head: bytes,
    on_partial: PartialCallback | None,
    budget: Budget,
) -> ModelInfo:
    kind = kind_from_magic(head, location.name)
    if kind is None and location.name.endswith(".index"):
        siblings = [e for page in store.list_level(location.parent) for e in page]
        kind = kind_from_name(location.name, [e.name for e in siblings])
        if kind is ArtifactKind.CHECKPOINT:
            return read_checkpoint(store, location, [e for e in siblings if not e.is_dir], budget)
    if kind in (ArtifactKind.KERAS, ArtifactKind.HDF5):
        reader = read_keras if kind is ArtifactKind.KERAS else read_hdf5
        if on_partial is not None:
            on_partial(reader(location, raw, size, False, budget))  # its blocks stay cached for the full read
        return reader(location, raw, size, True, budget)
    if kind is ArtifactKind.TFLITE:
        return read_tflite(store, location, size, budget)
    expected = kind_from_name(location.name)
    if expected is not None:
        raise CorruptArtifactError(
            f"{location.uri} is named like a {expected.value} file but starts with bytes {head.hex(' ') or '(none)'}.",
            "The file is damaged, truncated or mislabelled: check the upload, or save the model again.",
        )
    raise NotAModelError(
        f"{location.uri} is not a model file tfscope recognises (first bytes: {head.hex(' ') or 'none'}).",
        "tfscope reads SavedModel folders, .keras, .h5, checkpoints and .tflite files.",
    )


def _list_files(store: Store, folder: Location, budget: Budget) -> list[Entry]:
    files: list[Entry] = []
    for page in store.list_recursive(folder):
        budget.check()
        files.extend(page)
        if len(files) > MAX_FOLDER_FILES:
            raise NotAModelError(f"{folder.uri} holds more than {MAX_FOLDER_FILES:,} files: not a model folder.")
    return files


def _relative(folder: Location, entry: Entry) -> str:
    return entry.location.path[len(folder.path) :]


class NotAModelError(TfscopeError):
    title = "Not a model"
