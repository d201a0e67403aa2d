"""Bounds every reader works within: a file is written by strangers, so nothing in it sets the cost.

- A `Budget` counts the work a read does (table entries, graph nodes, HDF5 objects, bytes read) and
  stops it past a limit no real model comes near, or as soon as the caller cancels (the model screen
  was left): loops check it, and so does every read of the file.
- JSON is parsed with a depth limit and read through `as_dict` / `as_list`, so a config that is a
  list where a dict should be, or 100,000 brackets deep, is a damaged file, not an AttributeError.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tui.errors import CorruptArtifactError, TfscopeError

WORK_LIMIT = 5_000_000
"""Units of work one inspection may do: entries, nodes and objects visited (a ResNet50 costs ~10,000)."""
CPU_LIMIT = 6.0
"""Seconds of computation one inspection may use (this thread's CPU time: waiting on the network is
free). A ResNet50 .h5 takes 0.3 s; a crafted HDF5 group can make the library spend a millisecond a link."""
READ_LIMIT = 256 * 1024**2
"""Bytes one inspection may read through its file object (metadata is megabytes; this is a runaway)."""
MAX_JSON_DEPTH = 200
"""Nesting a model config may have (Keras' deepest real configs are a few dozen levels)."""
CHECK_EVERY = 1024
"""Units between checks of the cancel flag and the CPU time."""


class InspectionCancelled(TfscopeError):
    title = "Stopped"


LOAD_INSTEAD = "If it is a real model, load it with TensorFlow instead."
"""The fix for every refusal: TensorFlow loads what tfscope will not read."""


class TooComplexError(CorruptArtifactError):
    """Refused as crafted or damaged: past what any real model's metadata takes."""

    title = "Too complex to inspect"

    def __init__(self, detail: str, fix: str = LOAD_INSTEAD, *, title: str | None = None) -> None:
        super().__init__(detail, fix, title=title)


class Budget:
    """Work and bytes one inspection may spend, and the caller's cancel flag.

    Args:
        what: The artifact, for messages.
        cancelled: Polled while working; True stops the read with InspectionCancelled.
        work: Units of work allowed.
        read: Bytes allowed through `reader()`.
    """

    def __init__(
        self, what: str = "the file", cancelled: Callable[[], bool] = lambda: False, work: int = WORK_LIMIT,
        read: int = READ_LIMIT, cpu: float = CPU_LIMIT,
    ) -> None:  # fmt: skip
        self.what = what
        self.cancelled = cancelled
        self.work_left = work
        self.read_left = read
        self.cpu_until = time.thread_time() + cpu
        self.cpu = cpu
        self._until_check = CHECK_EVERY
        self.stopped: TfscopeError | None = None
        """The error this budget raised, if it did: a library that swallows it (h5py) is re-raised as it."""

    def spend(self, units: int = 1, on: str = "structures") -> None:
        """Account for `units` of work (what `on` names, for the message); raise when over or cancelled."""
        self.work_left -= units
        if self.work_left < 0:
            self._stop(TooComplexError(
                f"{self.what} asks for more work than any real model needs (too many {on}): refused as crafted "
                "or damaged.",
            ))  # fmt: skip
        self._until_check -= units
        if self._until_check <= 0:
            self._until_check = CHECK_EVERY
            self.check()

    def check(self) -> None:
        if self.stopped is not None:
            raise self.stopped
        if self.cancelled():
            self._stop(InspectionCancelled(f"Stopped reading {self.what}."))
        if time.thread_time() > self.cpu_until:
            self._stop(TooComplexError(
                f"Reading {self.what} took more than {self.cpu:g} s of computation (real models take well under "
                "one): refused as crafted or damaged.",
            ))  # fmt: skip

    @contextlib.contextmanager
    def reads_capped(self, nbytes: int) -> Iterator[None]:
        """At most `nbytes` more may be read inside this block (a stage that reads little, like a config)."""
        saved = self.read_left
        self.read_left = min(saved, nbytes)
        try:
            yield
        finally:
            self.read_left = saved - (min(saved, nbytes) - self.read_left)

    def spend_bytes(self, nbytes: int) -> None:
        self.read_left -= nbytes
        if self.read_left < 0:
            self._stop(TooComplexError(
                f"Reading {self.what}'s metadata went past the most a model's metadata takes: refused as crafted or "
                "damaged.",
            ))  # fmt: skip
        self.check()

    def _stop(self, error: TfscopeError) -> None:
        self.stopped = error
        raise error

    def reader(self, raw: Any) -> Any:
        """`raw` (a seekable binary file) with every read counted and checked against this budget."""
        return _BudgetedReader(raw, self)


class _BudgetedReader(io.RawIOBase):
    """A file object that charges each read to a Budget: zipfile and the HDF5 helper read through it,
    so a runaway parse or a cancel stops at its next read."""

    def __init__(self, raw: Any, budget: Budget) -> None:
        super().__init__()
        self._raw = raw
        self._budget = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._raw.seek(offset, whence))

    def tell(self) -> int:
        return int(self._raw.tell())

    def prefetch(self, ranges: Sequence[tuple[int, int]], check: Callable[[], None] | None = None) -> None:
        """Passed on to the file below if it prefetches (storage.ranged), and charged as read."""
        inner = getattr(self._raw, "prefetch", None)
        if callable(inner):
            self._budget.spend_bytes(sum(max(0, length) for _, length in ranges))
            inner(ranges, self._budget.check)

    def readinto(self, buffer: Any) -> int:
        self._budget.spend_bytes(len(buffer))
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        super().close()
        self._raw.close()


def parse_json(data: bytes | str, what: str) -> Any:
    """JSON from a model file, with its depth bounded; damage of any kind is a CorruptArtifactError."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:200]
        raise CorruptArtifactError(f"{what} is not valid JSON ({reason}).") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise CorruptArtifactError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep: refused as crafted.")
    return value


def _depth(value: Any) -> int:
    """How deeply `value` nests lists and dicts (iteratively: it may be deeper than Python's stack)."""
    deepest = 0
    todo = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        todo.extend((child, level + 1) for child in children)
    return deepest


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: configs say what they like."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any, default: str = "") -> str:
    """A JSON string or number as text; anything else (lists, objects, null) as `default`."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default
