"""Tab 4: every variable, with its shape, dtype, size, bytes, trainable flag and group."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive

from tui.formats.model_info import ModelInfo, Variable
from tui.formatting import format_shape, format_size, yes_no
from tui.widgets.columns import Column, middle_ellipsis, natural_width, set_columns
from tui.widgets.row_table import RowTable

ORDERS = ("size", "name", "saved")
"""Orders `s` cycles through: biggest first, alphabetical, as saved."""


class VariablesTab(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="variables-sort", tooltip="Sort variables by size, by name, as saved"),
    ]

    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""
    order: reactive[str] = reactive("size")
    """One of ORDERS."""

    def compose(self) -> ComposeResult:
        yield RowTable(id="variable-table")

    def on_mount(self) -> None:
        self._fill()

    def on_resize(self, event: Resize) -> None:
        self._fill()

    def watch_info(self) -> None:
        self._fill()

    def watch_order(self) -> None:
        self._fill()

    def action_sort(self) -> None:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.notify(f"Variables sorted by {self.order}", timeout=2)

    def _ordered(self) -> list[Variable]:
        variables = list(self.info.variables) if self.info else []
        if self.order == "size":
            variables.sort(key=lambda v: -v.size)
        elif self.order == "name":
            variables.sort(key=lambda v: v.name)
        return variables

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(RowTable)
        cursor = table.cursor_row
        variables = self._ordered()
        rows = [
            {"name": f"{v.model_path} (saved as {v.name})" if v.model_path else v.name, "shape": format_shape(v.shape),
             "dtype": v.dtype, "size": f"{v.size:,}", "bytes": format_size(v.nbytes),
             "trainable": yes_no(v.trainable), "group": v.group}
            for v in variables
        ]  # fmt: skip

        columns = [
            Column("name", "Name", natural_width(rows, "name", "Name", 72), 0, minimum=16),
            Column("shape", "Shape", natural_width(rows, "shape", "Shape", 24), 1),
            Column("dtype", "Dtype", natural_width(rows, "dtype", "Dtype", 10), 3),
            Column("size", "Size", natural_width(rows, "size", "Size", 14), 2),
            Column("bytes", "Bytes", natural_width(rows, "bytes", "Bytes", 10), 4),
            Column("trainable", "Trainable", 9, 6),
            Column("group", "Group", natural_width(rows, "group", "Group", 9), 5),
        ]
        shown = set_columns(table, columns, rows, self.size.width)
        right = {"size", "bytes"}
        for i, row in enumerate(rows):
            cells = []
            for column, width in shown:
                text = middle_ellipsis(row[column.key], width)
                cells.append(Text(text, justify="right") if column.key in right else text)
            table.add_row(*cells, key=str(i))
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
