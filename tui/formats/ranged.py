"""File objects over part of another: a zip member read in place, and byte counting for tests."""

from __future__ import annotations

import io
from typing import BinaryIO


class SliceReader(io.RawIOBase):
    """A read-only, seekable view of `length` bytes of `inner` starting at `offset`.

    A `.keras` zip stores `model.weights.h5` uncompressed, so h5py can read its header in place
    through this view, fetching only the bytes it asks for.
    """

    def __init__(self, inner: BinaryIO, offset: int, length: int) -> None:
        super().__init__()
        self._inner = inner
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        remaining = self._length - self._pos
        if remaining <= 0:
            return 0
        want = min(len(buffer), remaining)
        self._inner.seek(self._offset + self._pos)
        data = self._inner.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
