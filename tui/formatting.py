"""Turning sizes, times and counts into short text; shared by the TUI and the headless commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def format_size(size: int | None) -> str:
    """Bytes as a short decimal size ("14.2 MB"), as `gcloud storage` prints them."""
    if size is None:
        return ""
    value = float(size)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_time(when: datetime | None) -> str:
    """A timestamp in UTC, to the second."""
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def format_count(n: int) -> str:
    return f"{n:,}"


def format_shape(dims: Sequence[int | None] | None, unknown: str = "None") -> str:
    """A shape as Python prints a tuple, unknown dims as `unknown`: (None, 224, 224, 3), (3,)."""
    if dims is None:
        return "unknown rank"
    return "(" + ", ".join(unknown if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


_UNPRINTABLE = {c: "?" for c in [*range(0x20), *range(0x7F, 0xA0)]}


def printable(text: str) -> str:
    """`text` with control characters (newline, ESC, C1 codes...) shown as ?.

    Object names, metadata and model files are written by others: drawn raw, an ESC could retitle the
    terminal or worse. Apply it to every such string on its way to the screen.
    """
    return text.translate(_UNPRINTABLE)
