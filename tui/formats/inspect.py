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
from tui.formats.model_info import ModelInfo, printable_copy
from tui.formats.savedmodel import GUESSED_FILES, guess_reads, read_saved_model
from tui.formats.tflite_model import read_tflite
from tui.storage import ArtifactKind, Entry, Location, Store
from tui.storage.detect import SNIFF_BYTES, folder_kind, kind_from_magic, kind_from_name
from tui.storage.gcs import GcsStore

MAX_FOLDER_FILES = 20_000
"""A model folder with more files than this is not a model folder: stop listing."""


PartialCallback = Callable[[ModelInfo], None]


def inspect_model(store: Store, location: Location, on_partial: PartialCallback | None = None) -> ModelInfo:
    """Read the model at `location` (a folder or a file) into a ModelInfo.

    For .keras and .h5 files, `on_partial` first gets what their config alone says (layers, versions,
    in a few requests) while the weights' headers, one or more requests each, are still being read.

    Raises:
        TfscopeError: not a model, damaged, missing, or storage failed; the message says which.
    """
    stats = store.stats if isinstance(store, GcsStore) else None
    before = stats.snapshot() if stats else None
    on_partial = _made_printable(on_partial)
    if not location.is_dir:
        try:
            info = _inspect_file(store, location, on_partial)
        except NotFoundError:
            # `gs://b/models/m` may name a folder: GCS has no folders, only prefixes
            if not location.is_gcs:
                raise
            info = _inspect_folder(store, location.as_dir())
    else:
        info = _inspect_folder(store, location)
    if stats is not None and before is not None:
        requests, nbytes = stats.snapshot()
        info.requests, info.bytes_read = requests - before[0], nbytes - before[1]
    return printable_copy(info)


def _made_printable(callback: PartialCallback | None) -> PartialCallback | None:
    """The callback, handed what inspect_model returns too: a copy with printable strings."""
    if callback is None:
        return None
    return lambda info: callback(printable_copy(info))


def _inspect_folder(store: Store, folder: Location) -> ModelInfo:
    with ThreadPoolExecutor(len(GUESSED_FILES), thread_name_prefix="tfscope-guess") as pool:
        guesses = guess_reads(store, folder, pool) if folder.is_gcs else {}
        return _read_folder(store, folder, guesses)


def _read_folder(store: Store, folder: Location, guesses: dict[str, Future[bytes]]) -> ModelInfo:
    files = _list_files(store, folder)
    if not files:
        raise NotFoundError(f"Nothing under {folder.uri}.", "Check the path.")
    direct = {_relative(folder, e).split("/")[0] + ("/" if "/" in _relative(folder, e) else "") for e in files}
    kind = folder_kind(direct)
    if kind is ArtifactKind.SAVED_MODEL:
        return read_saved_model(store, folder, files, guesses=guesses)
    if kind is ArtifactKind.CHECKPOINT:
        return read_checkpoint(store, folder, [e for e in files if "/" not in _relative(folder, e)])
    raise NotAModelError(
        f"{folder.uri} holds no saved_model.pb, checkpoint or checkpoint index.",
        "Open a SavedModel folder, a checkpoint folder, or a .keras/.h5/.tflite file.",
    )


def _inspect_file(store: Store, location: Location, on_partial: PartialCallback | None) -> ModelInfo:
    # One open (one stat) serves the sniff and the reader: the first block is fetched once.
    with store.open(location) as raw:
        size = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        head = raw.read(SNIFF_BYTES)
        return _read_file(store, location, raw, size, head, on_partial)


def _read_file(
    store: Store, location: Location, raw: BinaryIO, size: int, head: bytes, on_partial: PartialCallback | None
) -> ModelInfo:
    kind = kind_from_magic(head, location.name)
    if kind is None and location.name.endswith(".index"):
        siblings = [e for page in store.list_level(location.parent) for e in page]
        kind = kind_from_name(location.name, [e.name for e in siblings])
        if kind is ArtifactKind.CHECKPOINT:
            return read_checkpoint(store, location, [e for e in siblings if not e.is_dir])
    if kind in (ArtifactKind.KERAS, ArtifactKind.HDF5):
        reader = read_keras if kind is ArtifactKind.KERAS else read_hdf5
        if on_partial is not None:
            on_partial(reader(location, raw, size, weights=False))  # its blocks stay cached for the full read
        return reader(location, raw, size)
    if kind is ArtifactKind.TFLITE:
        return read_tflite(store, location, size)
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


def _list_files(store: Store, folder: Location) -> list[Entry]:
    files: list[Entry] = []
    for page in store.list_recursive(folder):
        files.extend(page)
        if len(files) > MAX_FOLDER_FILES:
            raise NotAModelError(f"{folder.uri} holds more than {MAX_FOLDER_FILES:,} files: not a model folder.")
    return files


def _relative(folder: Location, entry: Entry) -> str:
    return entry.location.path[len(folder.path) :]


class NotAModelError(TfscopeError):
    title = "Not a model"
