"""What inputs.py and media.py (which inputs.py calls) share: the error of an input that cannot be made,
and the size check every made input passes first."""

from __future__ import annotations

import math
import os
import stat

from tui.formatting import format_size


class InputError(ValueError):
    """An input that cannot be made or does not fit its spec; the message names the input."""


def fits_limit(name: str, shape: tuple[int, ...], itemsize: int, max_bytes: int) -> None:
    """Refuse an input of `shape` x `itemsize` bytes over the limit, before anything is allocated."""
    size = math.prod(shape) * itemsize  # Python ints: a 1e12-element shape does not overflow
    if size > max_bytes:
        raise InputError(
            f"input '{name}' of shape {tuple(shape)} would take {format_size(size)}, more than the "
            f"{format_size(max_bytes)} limit for one input: give a smaller shape, or raise the limit "
            "with --max-input-mb"
        )


def regular_file(name: str, path: str) -> int:
    """The size of the file an input reads; refused when it is missing, unreadable, or no regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(f"input '{name}': there is no file {path}") from exc
    except OSError as exc:
        raise InputError(f"input '{name}': cannot read {path} ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"input '{name}': {path} is not a regular file (a pipe, device or folder)")
    return info.st_size
