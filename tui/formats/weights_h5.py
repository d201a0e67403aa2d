"""Shapes and dtypes of the datasets in an HDF5 weights file, from its header only (no tensor data read)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from tui.errors import CorruptArtifactError

H5_PAGE = 64 * 1024
DatasetShape = tuple[tuple[int, ...], str]
"""(shape, dtype) of one dataset."""


def open_h5(file: BinaryIO, what: str) -> Any:
    """h5py over a (ranged) file object; a damaged file becomes a CorruptArtifactError."""
    import h5py

    try:
        # A small chunk cache: we only read metadata, never tensor data.
        return h5py.File(file, "r", rdcc_nbytes=H5_PAGE)
    except (OSError, ValueError) as exc:
        raise CorruptArtifactError(
            f"{what} is not a readable HDF5 file ({_first_line(exc)}); it may be truncated or damaged.",
            "Check that the upload finished (compare sizes or crc32c) and save the model again.",
        ) from exc


H5_ERRORS = (OSError, ValueError, RuntimeError, KeyError, TypeError, UnicodeDecodeError)
"""What h5py raises on damaged files: the HDF5 library's errors surface as any of these."""


@contextlib.contextmanager
def h5_errors(what: str) -> Iterator[None]:
    """Turn h5py's errors on a damaged file into a CorruptArtifactError naming `what`."""
    try:
        yield
    except H5_ERRORS as exc:
        raise CorruptArtifactError(
            f"{what} is damaged ({_first_line(exc)}).",
            "Check that the upload finished (compare sizes or crc32c) and save the model again.",
        ) from exc


def dataset_shapes(group: Any) -> dict[str, DatasetShape]:
    """path -> (shape, dtype) of every dataset under `group`, walking links but reading no data."""
    import h5py

    found: dict[str, DatasetShape] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = (tuple(int(d) for d in obj.shape), str(obj.dtype))

    with h5_errors("The weights file"):
        group.visititems(visit)
    return found


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
