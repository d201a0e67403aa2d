"""Tab 5: op types and how often each occurs; ops that touch files or call Python are flagged."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo
from tui.formats.ops import CHECKPOINT_OPS, flagged_ops
from tui.widgets.row_table import RowTable

ORDERS = ("count", "name")


class OpsTab(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="ops-sort", tooltip="Sort ops by count or by name"),
    ]

    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""
    order: reactive[str] = reactive("count")
    """One of ORDERS."""

    def compose(self) -> ComposeResult:
        yield Static("", id="ops-note", classes="tab-body")
        yield RowTable(id="op-table")

    def on_mount(self) -> None:
        self._fill()

    def watch_info(self) -> None:
        self._fill()

    def watch_order(self) -> None:
        self._fill()

    def action_sort(self) -> None:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.notify(f"Ops sorted by {self.order}", timeout=2)

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(RowTable)
        table.clear(columns=True)
        table.add_columns("Op", "Count", "Note")
        empty = self.query_one("#ops-note", Static)
        empty.display = self.info is not None and not self.info.ops
        table.display = not empty.display
        empty.update(_no_ops_note(self.info))
        if self.info is None:
            return
        flagged = flagged_ops(self.info.ops)
        ops = sorted(self.info.ops.items()) if self.order == "name" else list(self.info.ops.items())
        for op, count in ops:
            if op in flagged:
                note = Text(f"! {flagged[op]}", style="bold red")
            elif op in CHECKPOINT_OPS:
                note = Text("checkpoint I/O, in every SavedModel", style="dim")
            else:
                note = Text("")
            table.add_row(op, Text(f"{count:,}", justify="right"), note)


def _no_ops_note(info: ModelInfo | None) -> Text:
    if info is not None and info.kind is ArtifactKind.CHECKPOINT:
        return Text("A checkpoint holds values, not a graph: no ops (tab 4 lists its variables).", style="dim")
    return Text("Keras files keep layers, not a graph: there are no ops to list (tab 3 has the layers).", style="dim")
