"""A seekable file object over ranged reads, with a block cache.

h5py and zipfile jump around a file: header, central directory, a dataset header, back to the
superblock. google-cloud-storage's BlobReader drops its buffer on every seek, so reading an `.h5`'s
layer table through it fetched 2.5 times the file. This reader fetches aligned blocks, coalesces
neighbours into one request, and keeps recent blocks, so each byte crosses the network once.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable
from typing import BinaryIO

BLOCK_SIZE = 16 * 1024
"""Small: model metadata is a scatter of headers of a few hundred bytes each."""
CACHE_BLOCKS = 1024
"""Memory bound of the cache: BLOCK_SIZE * CACHE_BLOCKS (16 MiB)."""

Fetch = Callable[[int, int], bytes]
"""(start, length) -> bytes: one ranged request."""


class SeekableReader(io.RawIOBase):
    """Read-only and seekable over `size` bytes: subclasses implement `readinto` at `self._pos`."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos


class SliceReader(SeekableReader):
    """`length` bytes of `inner` from `offset`: a stored zip member read in place (`.keras` weights)."""

    def __init__(self, inner: BinaryIO, offset: int, length: int) -> None:
        super().__init__(length)
        self._inner = inner
        self._offset = offset

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._inner.seek(self._offset + self._pos)
        data = self._inner.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class BlockCachedReader(SeekableReader):
    """Read-only, seekable view of a remote object of known `size`, fetched block by block."""

    def __init__(self, fetch: Fetch, size: int, block_size: int = BLOCK_SIZE, cache_blocks: int = CACHE_BLOCKS) -> None:
        super().__init__(size)
        self._fetch = fetch
        self._block = block_size
        self._capacity = cache_blocks
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        start, end = self._pos, min(self._size, self._pos + len(buffer))
        if start >= end:
            return 0
        first, last = start // self._block, (end - 1) // self._block
        self._load(first, last)
        data = b"".join(self._cache[i] for i in range(first, last + 1))
        piece = data[start - first * self._block : end - first * self._block]
        buffer[: len(piece)] = piece
        self._pos = end
        return len(piece)

    def _load(self, first: int, last: int) -> None:
        """Fetch the missing blocks of [first, last], one request per contiguous run."""
        block = first
        while block <= last:
            if block in self._cache:
                self._cache.move_to_end(block)
                block += 1
                continue
            run_end = block
            while run_end + 1 <= last and run_end + 1 not in self._cache:
                run_end += 1
            start = block * self._block
            length = min(self._size, (run_end + 1) * self._block) - start
            data = self._fetch(start, length)
            if len(data) != length:
                raise EOFError(f"asked for {length} bytes at {start}, got {len(data)}: the object changed or shrank")
            for i in range(block, run_end + 1):
                self._cache[i] = data[(i - block) * self._block : (i - block + 1) * self._block]
            block = run_end + 1
        while len(self._cache) > max(self._capacity, last - first + 1):
            self._cache.popitem(last=False)
