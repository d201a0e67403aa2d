"""One level of a huge prefix listed as several name ranges at once, merged back in name order.

GCS lists names in order, one page (1,000) per round trip, each page's request waiting for the one
before (its token). `startOffset` (inclusive) and `endOffset` (exclusive) let disjoint name ranges be
listed side by side, each with its own page chain. After the first page the rest of the name space is
cut into ranges at boundaries guessed from the names seen (`KeySpace`: names that differ in digits
interpolate well); a worker that runs out of ranges takes the back half of the biggest one still
going (work stealing), so a guess that turned out uneven only costs a split. Ranges are disjoint and
ordered, so the merge is concatenation in range order; later ranges' pages wait in a bounded buffer.

Folder prefixes need care: servers differ on how they meet offsets. GCS reports a prefix for the
objects in range under it, so a prefix whose objects straddle a boundary comes back from both
ranges; fake-gcs-server filters the prefix string itself like a name. Both are handled by keeping each
object only in its own range and each prefix only the first time it is seen.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from tui.storage.base import Entry

Fetch = Callable[[str | None, str | None, str | None], tuple[list[Entry], str | None]]
"""`fetch(start_offset, end_offset, page_token)` -> (one page's entries, the next page's token or None)."""

WORKERS = 8
"""Range listings running at once: the cap on listing requests in flight for one level."""
RANGE_PAGES = 5
"""Pages a new range is guessed to hold: fewer means more boundary waste, more means coarser balance."""
BUFFERED_PAGES = 64
"""Pages of later ranges held while the consumer is still on an earlier one; their workers then wait."""
MAX_DEPTH = 64
"""Characters of a name that boundary guesses look at."""

_ALPHABETS = (
    "0123456789",
    "0123456789abcdef",
    "0123456789abcdefghijklmnopqrstuvwxyz",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


def _alphabet(seen: set[str]) -> str:
    """The characters a name position is assumed to take: the smallest usual class holding those seen."""
    for alphabet in _ALPHABETS:
        if seen <= set(alphabet):
            return alphabet
    # Code point order is UTF-8 byte order, the order GCS (and Go's fake-gcs-server) sort names in.
    return "".join(sorted(seen | set(_PRINTABLE)))


class KeySpace:
    """Names under `prefix` as integers that keep their order, for interpolating boundaries.

    Each position after the prefix is a digit in its own base (its alphabet's size + 1, 0 meaning the
    name has ended). The mapping only has to be monotone: a boundary it suggests is checked against
    the names it must fall between, so a poor guess costs balance, never correctness.
    """

    def __init__(self, prefix: str, names: Sequence[str]) -> None:
        self.prefix = prefix
        suffixes = [n[len(prefix) :] for n in names]
        depth = min(MAX_DEPTH, max((len(s) for s in suffixes), default=0))
        self.alphabets = [_alphabet({s[i] for s in suffixes if len(s) > i}) for i in range(depth)]
        self.weights = [0] * depth
        weight = 1
        for i in reversed(range(depth)):
            self.weights[i] = weight
            weight *= len(self.alphabets[i]) + 1
        self.top = weight
        """One past the key of the greatest name: the key of "no end"."""

    def key(self, name: str) -> int:
        suffix = name[len(self.prefix) :]
        key = 0
        for i, alphabet in enumerate(self.alphabets):
            if i >= len(suffix):
                break
            rank = bisect.bisect_left(alphabet, suffix[i])
            if rank < len(alphabet) and alphabet[rank] == suffix[i]:
                key += (rank + 1) * self.weights[i]
                continue
            # Not in the alphabet: it sorts between two that are, so map it just below the greater one.
            return key + rank * self.weights[i] + (self.weights[i] - 1 if rank else 0)
        return key

    def name(self, key: int) -> str:
        key = min(key, self.top - 1)  # a guess past the greatest name: the greatest name
        chars = []
        for alphabet, weight in zip(self.alphabets, self.weights, strict=True):
            digit, key = divmod(key, weight)
            if digit == 0:
                break
            chars.append(alphabet[digit - 1])
        return self.prefix + "".join(chars)


class _Range:
    """Names in [start, end) (end None: to the end of the level), listed by one worker's page chain."""

    def __init__(self, start: str, end: str | None, unit: int) -> None:
        self.start = start
        self.end = end
        """Lowered when another worker takes the back part; entries past it are then dropped."""
        self.position = start
        """The greatest object name received so far."""
        self.unit = unit
        """Keys per name (0: unknown), from the pages this range (or the one it was split from) received.
        Integers throughout: keys are far wider than a float's precision."""
        self.pages: deque[list[Entry]] = deque()
        self.started = False
        self.done = False


class ParallelListing:
    """The pages after a first page, listed in parallel ranges, yielded in name order.

    Args:
        fetch: Lists one page of a name range (see `Fetch`); raises what the listing should raise.
        prefix: The level's prefix: every name starts with it.
        first_page: The entries of the first page, already shown.
        page_size: Entries a full page holds.
        workers: Ranges listed at once.
    """

    def __init__(
        self, fetch: Fetch, prefix: str, first_page: list[Entry], page_size: int, workers: int = WORKERS
    ) -> None:
        self.fetch = fetch
        self.page_size = page_size
        self.workers = workers
        objects = sorted(e.location.path for e in first_page if not e.is_dir)
        folders = sorted(e.location.path for e in first_page if e.is_dir)
        # Where the first page's own chain stopped. Objects first: fake-gcs-server puts every prefix of the
        # level on the first page, so a prefix can lie far beyond the objects listed so far.
        self.after = objects[-1] if objects else folders[-1]
        self.seen_folders = set(folders)
        self.space = KeySpace(prefix, objects + folders)
        names = objects or folders
        span = self.space.key(names[-1]) - self.space.key(names[0])
        unit = span // (len(names) - 1) if len(names) > 1 else 0
        self.ranges: list[_Range] = self._initial_ranges(unit)
        self.buffered = 0
        self.carry: list[Entry] = []
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.threads: list[threading.Thread] = []

    def _initial_ranges(self, unit: int) -> list[_Range]:
        """Ranges of RANGE_PAGES guessed pages each after the first page, the last one open-ended."""
        bounds = [self.after]
        base = self.space.key(self.after)
        for i in range(1, self.workers):
            bound = self.space.name(base + i * RANGE_PAGES * self.page_size * unit)
            if bound > bounds[-1]:
                bounds.append(bound)
        ends: list[str | None] = [*bounds[1:], None]
        return [_Range(start, end, unit) for start, end in zip(bounds, ends, strict=True)]

    def __iter__(self) -> Iterator[list[Entry]]:
        for _ in range(min(self.workers, len(self.ranges))):
            thread = threading.Thread(target=self._work, daemon=True, name="tfscope-list-range")
            self.threads.append(thread)
            thread.start()
        try:
            while True:
                page = self._next_page()
                if page is None:
                    return
                yield page
        finally:
            self.stop.set()  # the consumer is done or gone: workers end after the request they are in
            with self.cond:
                self.cond.notify_all()

    def _next_page(self) -> list[Entry] | None:
        """The next `page_size` entries in name order (fewer only at the end), None when there are none.

        Ranges end with partial pages; re-cutting them keeps the pages full, as a single chain's are.
        """
        with self.cond:
            while len(self.carry) < self.page_size:
                if self.error is not None:
                    raise self.error
                if not self.ranges:
                    break
                head = self.ranges[0]
                if head.pages:
                    self.buffered -= 1
                    self.carry += head.pages.popleft()
                elif head.done:
                    self.ranges.pop(0)
                else:
                    self.cond.wait()
                    continue
                self.cond.notify_all()  # buffer room, or a new head whose worker may be waiting for it
            page, self.carry = self.carry[: self.page_size], self.carry[self.page_size :]
            return page or None

    # -- workers ----------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while not self.stop.is_set():
                with self.cond:
                    todo = self._claim()
                if todo is None:
                    return
                self._list(todo)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, which raises it)
            with self.cond:
                if self.error is None:
                    self.error = exc
                self.stop.set()
                self.cond.notify_all()

    def _claim(self) -> _Range | None:
        """The first range nobody lists yet, else the back part of the biggest one being listed."""
        for listed in self.ranges:
            if not listed.started:
                listed.started = True
                return listed
        best: _Range | None = None
        best_size = 0
        for listed in self.ranges:
            if listed.done or listed.unit <= 0:
                continue
            size = self._remaining(listed)
            if size > best_size:
                best, best_size = listed, size
        if best is None or best_size < 2 * self.page_size:
            return None
        cut = self._cut(best)
        if cut is None:
            return None
        taken = _Range(cut, best.end, best.unit)
        taken.started = True
        best.end = cut
        self.ranges.insert(self.ranges.index(best) + 1, taken)
        return taken

    def _remaining(self, listed: _Range) -> int:
        """Names a range is guessed to hold past where it is; an open range always counts as the biggest."""
        if listed.end is None:
            return self.space.top
        return (self.space.key(listed.end) - self.space.key(listed.position)) // listed.unit

    def _cut(self, listed: _Range) -> str | None:
        """Where to split a range being listed: halfway on, or a guessed few pages on for an open one."""
        here = self.space.key(listed.position)
        if listed.end is None:
            cut = self.space.name(here + RANGE_PAGES * self.page_size * listed.unit)
        else:
            cut = self.space.name((here + self.space.key(listed.end)) // 2)
        if cut <= listed.position or cut <= listed.start or (listed.end is not None and cut >= listed.end):
            return None
        return cut

    def _list(self, listed: _Range) -> None:
        """Follow one range's page chain until it passes the range's (possibly lowered) end."""
        token: str | None = None
        end = listed.end  # the chain keeps the end it started with; a lowered end only drops entries
        while not self.stop.is_set():
            entries, token = self.fetch(listed.start, end, token)
            entries.sort(key=_path)
            with self.cond:
                limit = listed.end
                keep: list[Entry] = []
                passed = False
                for entry in entries:
                    path = entry.location.path
                    if limit is not None and path >= limit:
                        passed = passed or not entry.is_dir
                        continue
                    if entry.is_dir:
                        if path in self.seen_folders:
                            continue
                        self.seen_folders.add(path)
                    elif path == self.after:
                        continue  # the first page's last object, listed again from its own offset
                    keep.append(entry)
                self._learn(listed, entries)
                if keep:
                    listed.pages.append(keep)
                    self.buffered += 1
                if token is None or passed:
                    listed.done = True
                self.cond.notify_all()
                if listed.done:
                    return
                while self.buffered >= BUFFERED_PAGES and self.ranges[0] is not listed and not self.stop.is_set():
                    self.cond.wait()

    def _learn(self, listed: _Range, entries: list[Entry]) -> None:
        """Move the range's position on, and its density guess when the page is full enough to tell."""
        names = [e.location.path for e in entries if not e.is_dir]
        if not names:
            return
        if names[-1] > listed.position:
            listed.position = names[-1]
        if len(names) >= self.page_size // 2:
            span = self.space.key(names[-1]) - self.space.key(names[0])
            if span > 0:
                listed.unit = span // (len(names) - 1)


def _path(entry: Entry) -> str:
    return entry.location.path
