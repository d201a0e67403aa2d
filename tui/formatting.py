"""Turning sizes, times and counts into short text; shared by the TUI and the headless commands."""

from __future__ import annotations

import functools
import unicodedata
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


def yes_no(flag: bool | None) -> str:
    """ "yes", "no", or "" where the file does not say."""
    return "" if flag is None else ("yes" if flag else "no")


def format_shape(dims: Sequence[int | None] | None, unknown: str = "None") -> str:
    """A shape as Python prints a tuple, unknown dims as `unknown`: (None, 224, 224, 3), (3,)."""
    if dims is None:
        return "unknown rank"
    return "(" + ", ".join(unknown if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
"""Controls, format characters (bidi overrides U+202E, isolates U+2066-2069, zero-width U+200B-U+200D,
U+FEFF), surrogates, private use, line and paragraph separators: none of them is visible text."""


@functools.lru_cache(maxsize=4096)
def _shown_as(char: str) -> str:
    return "?" if unicodedata.category(char) in _HIDDEN_CATEGORIES else char


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control and invisible characters shown as ?.

    Object names, metadata and model files are written by others: drawn raw, an ESC could retitle the
    terminal, and a right-to-left override or a zero-width space could make `gpj.exe` read as another
    name. Apply it to every such string on its way to the screen. `keep_newlines` keeps line breaks
    (multi-line messages), and nothing else.
    """
    if text.isascii():
        if text.isprintable():
            return text  # the common case, at C speed
        table = _ASCII_NEWLINES if keep_newlines else _ASCII
        return text.translate(table)
    return "".join("\n" if keep_newlines and c == "\n" else _shown_as(c) for c in text)


_ASCII = {c: "?" for c in [*range(0x20), 0x7F]}
_ASCII_NEWLINES = {c: v for c, v in _ASCII.items() if c != 0x0A}
