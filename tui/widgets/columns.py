"""Table columns that fit the width at hand: the most useful ones first, names cut in the middle.

At 80 columns (the Colab terminal) a layer table cannot show Layer, Class, Output shape, Params,
Trainable and Connected to at their natural widths. Each column has a priority; the columns that
fit, in priority order, are shown in their usual order, and the first (a name) takes what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from textual.widgets import DataTable

CELL_PADDING = 2
"""What a DataTable adds around each cell (one space each side)."""
SCROLLBAR = 2
UNLAID = 200
"""Room assumed before a table is laid out (a hidden tab): every column; a resize fits them later."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    """The natural width: what the widest value needs (capped by the caller)."""
    priority: int
    """Lower shows first when room is short; the name column should be 0."""
    minimum: int = 0
    """A column may shrink to this (names); 0: the natural width or nothing."""


def natural_width(rows: list[dict[str, str]], key: str, label: str, cap: int) -> int:
    """What the label and the widest value of `key` need, at most `cap`."""
    return min(cap, max([cell_len(label)] + [cell_len(row[key]) for row in rows]))


def set_columns(table: DataTable[Any], columns: list[Column], rows: list[dict[str, str]],
                width: int) -> list[tuple[Column, int]]:  # fmt: skip
    """Clear `table` and give it the columns that fit `width` cells (scrollbar left out); returns them
    with their widths, for cutting the cells."""
    room = max(width - SCROLLBAR, 20) if width else UNLAID
    shown = fit(with_values(columns, rows), room)
    table.clear(columns=True)
    for column, cells in shown:
        table.add_column(column.label, key=column.key, width=cells)
    return shown


def with_values(columns: list[Column], rows: list[dict[str, str]]) -> list[Column]:
    """The columns some row has a value in (a Trainable column of blanks is room a name could use)."""
    return [c for c in columns if c.priority == 0 or any(row.get(c.key) for row in rows)]


def fit(columns: list[Column], room: int) -> list[tuple[Column, int]]:
    """The columns to show in `room` cells, in their given order, each with its width.

    Columns join by priority while their natural width fits; then the one with a minimum (the name)
    grows into whatever is left. The top-priority column always shows, cut if it must be.
    """
    chosen: set[str] = set()
    used = 0
    for column in sorted(columns, key=lambda c: c.priority):
        need = (column.minimum or column.width) + CELL_PADDING
        if used + need <= room or not chosen:
            chosen.add(column.key)
            used += need
    shown = [c for c in columns if c.key in chosen]
    widths = {c.key: c.minimum or c.width for c in shown}
    spare = room - sum(widths.values()) - CELL_PADDING * len(shown)
    for column in shown:  # the flexible columns (names) take the slack, up to their natural width
        if column.minimum and spare > 0:
            grow = min(spare, column.width - widths[column.key])
            widths[column.key] += grow
            spare -= grow
    return [(c, max(1, widths[c.key])) for c in shown]


def middle_ellipsis(text: str, width: int) -> str:
    """`text` cut to `width` cells in the middle (`block_16_pro…ct_BN`): both ends of a name say most."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    end = text[::-1]
    return set_cell_size(text, head) + "…" + (set_cell_size(end, tail)[::-1] if tail else "")
