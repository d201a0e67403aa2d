"""A seekable file object over ranged reads, with a block cache.

h5py and zipfile jump around a file: header, central directory, a dataset header, back to the
superblock. google-cloud-storage's BlobReader drops its buffer on every seek, so reading an `.h5`'s
layer table through it fetched 2.5 times the file. This reader fetches aligned blocks, coalesces
neighbours into one request, and keeps recent blocks, so each byte crosses the network once.

A reader that knows what it will read next (the HDF5 header walk: every header of a tree level) calls
`prefetch` with those ranges: the missing blocks come in parallel requests, so a level costs a round
trip or two instead of one per header.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import BinaryIO

BLOCK_SIZE = 16 * 1024
"""Small: model metadata is a scatter of headers of a few hundred bytes each."""
CACHE_BLOCKS = 1024
"""Memory bound of the cache: BLOCK_SIZE * CACHE_BLOCKS (16 MiB)."""

PARALLEL_FETCHES = 32
"""Requests one prefetch keeps in flight (the GCS store keeps 64 connections)."""
GAP_BLOCKS = 8
"""Unwanted blocks read between two wanted ones rather than spending a request on each side (128 KB:
about 10 ms at 100 Mbit/s, a third of a 30 ms round trip)."""
RUN_BLOCKS = 64
"""Blocks one prefetch request may carry at most (1 MiB): longer runs are split and fetched in parallel."""

Fetch = Callable[[int, int], bytes]
"""(start, length) -> bytes: one ranged request."""
Ranges = Sequence[tuple[int, int]]
"""(offset, length) pairs: what a reader will read next."""


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

    def prefetch(self, ranges: Ranges, check: Callable[[], None] | None = None) -> None:
        """Passed on to the file below, if it prefetches (see BlockCachedReader.prefetch)."""
        inner = getattr(self._inner, "prefetch", None)
        if callable(inner):
            clipped = [(start, min(length, self._size - start)) for start, length in ranges if 0 <= start < self._size]
            inner([(self._offset + start, length) for start, length in clipped], check)


class BlockCachedReader(SeekableReader):
    """Read-only, seekable view of a remote object of known `size`, fetched block by block."""

    def __init__(
        self,
        fetch: Fetch,
        size: int,
        block_size: int = BLOCK_SIZE,
        cache_blocks: int = CACHE_BLOCKS,
        *,
        head: int = 0,
        tail: int = 0,
        seeds: Sequence[tuple[int, bytes]] = (),
    ) -> None:
        """`head`, `tail`: what of the object's front and end its reader will want. The first read fetches
        them too, side by side (one round trip where a reader's scattered reads of a file's front, or a zip's
        end then its front, would each wait for one). `seeds`: (offset, bytes) of the object already fetched."""
        super().__init__(size)
        self._fetch = fetch
        self._block = block_size
        self._capacity = cache_blocks
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._zones = [(0, min(head, size))] if head > 0 else []
        if tail > 0:
            self._zones.append((max(0, size - tail), min(tail, size)))
        for offset, data in seeds:
            self._seed(offset, data)

    def _seed(self, offset: int, data: bytes) -> None:
        """Cache the whole blocks inside `data` (and the object's last block, if `data` reaches the end)."""
        first = -(-offset // self._block)
        end = offset + len(data)
        for block in range(first, first + self._capacity // 2):
            start = block * self._block
            stop = min(start + self._block, self._size)
            if start >= stop or stop > end:
                break
            self._cache[block] = data[start - offset : stop - offset]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        start, end = self._pos, min(self._size, self._pos + len(buffer))
        if start >= end:
            return 0
        first, last = start // self._block, (end - 1) // self._block
        if self._zones:  # the first read: the zones come with it
            wanted, self._zones = [*self._zones, (start, end - start)], []
            self.prefetch(wanted)
        self._load(first, last)
        data = b"".join(self._cache[i] for i in range(first, last + 1))
        piece = data[start - first * self._block : end - first * self._block]
        buffer[: len(piece)] = piece
        self._pos = end
        return len(piece)

    def prefetch(self, ranges: Ranges, check: Callable[[], None] | None = None) -> None:
        """Fetch the missing blocks under `ranges` now, PARALLEL_FETCHES requests at a time.

        A hint: the caller then reads as usual, from the cache. At most half the cache is filled, so
        nothing prefetched is evicted before it is read; the rest is read when asked for. `check` is
        called while waiting (a budget's cancel flag: it raises to stop).
        """
        runs = self._missing_runs(ranges)
        if not runs:
            return
        if len(runs) == 1:  # nothing to wait for side by side: no thread
            self._cache_run(*runs[0], self._fetch_run(*runs[0]))
            self._evict()
            if check is not None:
                check()
            return
        pool = ThreadPoolExecutor(min(PARALLEL_FETCHES, len(runs)), thread_name_prefix="tfscope-prefetch")
        try:
            futures = {run: pool.submit(self._fetch_run, *run) for run in runs}
            pending: set[Future[bytes]] = set(futures.values())
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # a failed request raises here (the store's own error)
                if check is not None:
                    check()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for (first, last), future in futures.items():
            self._cache_run(first, last, future.result())
        self._evict()

    def _cache_run(self, first: int, last: int, data: bytes) -> None:
        """Cache blocks first..last from `data`, as the most recently used."""
        for i in range(first, last + 1):
            self._cache[i] = data[(i - first) * self._block : (i - first + 1) * self._block]
            self._cache.move_to_end(i)

    def _evict(self, keep: int = 0) -> None:
        """Drop the least recently used blocks past the cache's capacity (or past `keep`, if larger)."""
        while len(self._cache) > max(self._capacity, keep):
            self._cache.popitem(last=False)

    def _missing_runs(self, ranges: Ranges) -> list[tuple[int, int]]:
        """Runs (first, last block) to fetch: wanted blocks not cached, neighbours within GAP_BLOCKS joined."""
        spans = sorted(
            (start // self._block, (min(self._size, start + length) - 1) // self._block)
            for start, length in ranges
            if length > 0 and 0 <= start < self._size
        )
        missing: list[int] = []
        limit = self._capacity // 2
        for first, last in spans:
            for block in range(max(first, missing[-1] + 1 if missing else 0), last + 1):
                if block not in self._cache:
                    missing.append(block)
                    if len(missing) >= limit:
                        break
            if len(missing) >= limit:
                break
        runs: list[tuple[int, int]] = []
        for block in missing:
            if runs and block - runs[-1][1] <= GAP_BLOCKS + 1 and block - runs[-1][0] < RUN_BLOCKS:
                runs[-1] = (runs[-1][0], block)
            else:
                runs.append((block, block))
        return runs

    def _fetch_run(self, first: int, last: int) -> bytes:
        start = first * self._block
        length = min(self._size, (last + 1) * self._block) - start
        data = self._fetch(start, length)
        if len(data) != length:
            raise EOFError(f"asked for {length} bytes at {start}, got {len(data)}: the object changed or shrank")
        return data

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
            self._cache_run(block, run_end, self._fetch_run(block, run_end))
            block = run_end + 1
        self._evict(keep=last - first + 1)  # after the whole read: none of its blocks is dropped
