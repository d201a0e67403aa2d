"""A Keras-style summary: layers with nested models expandable, sortable, filterable, and a total."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from tui.formats.model_info import Layer

SORTS = ("order", "params", "name")
"""Orders `s` cycles through: as saved, biggest first, alphabetical."""
TOTAL_KEY = "__total__"


class LayerTable(DataTable[Text | str]):
    """Rows for `layers`; a nested model's row toggles its children with enter."""

    BINDINGS = [
        Binding("enter", "toggle_nested", "Expand", id="layers-toggle", tooltip="Show or hide a nested model's layers"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.model_layers: list[Layer] = []
        """The model's top-level layers."""
        self.expanded: set[str] = set()
        """Paths ("encoder", "encoder/block") of the nested models shown open."""
        self.filter_text = ""
        """Case-insensitive substring of a layer's name or class; matches inside nested models show too."""
        self.order = SORTS[0]
        """One of SORTS."""
        self.partial = False
        """Parameter counts still being read."""
        for label, key in (("Layer", "name"), ("Class", "class"), ("Output shape", "shape"), ("Params", "params"),
                           ("Trainable", "trainable"), ("Connected to", "connected")):  # fmt: skip
            self.add_column(label, key=key)

    def show(self, layers: list[Layer], partial: bool = False) -> None:
        """Show `layers`; `partial`: their parameter counts are still being read (shown as …)."""
        self.model_layers = layers
        self.partial = partial
        self.refresh_rows(keep=self.highlighted_key)

    @property
    def highlighted_key(self) -> str | None:
        """The row under the cursor (a layer path), kept when the rows are refilled."""
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.lower()
        self.refresh_rows()

    def cycle_sort(self) -> None:
        self.order = SORTS[(SORTS.index(self.order) + 1) % len(SORTS)]
        self.refresh_rows()

    def action_toggle_nested(self) -> None:
        if not self.row_count:
            return
        key = str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        if key == TOTAL_KEY or not self._find(key).children:
            return
        self.expanded.symmetric_difference_update({key})
        self.refresh_rows(keep=key)

    def refresh_rows(self, keep: str | None = None) -> None:
        self.clear()
        for path, depth, layer in self._visible(self.model_layers, "", 0):
            marker = ("▾ " if path in self.expanded else "▸ ") if layer.children else "  "
            name = Text("  " * depth + marker + layer.name, style="bold" if layer.children else "")
            trainable = "" if layer.trainable is None else ("yes" if layer.trainable else "no")
            params = "…" if self.partial else f"{layer.params:,}"
            self.add_row(name, layer.class_name, layer.output_shape or "", Text(params, justify="right"),
                         trainable, ", ".join(layer.connected_to), key=path)  # fmt: skip
        total = "…" if self.partial else f"{sum(layer.params for layer in self.model_layers):,}"
        self.add_row(Text("Total", style="bold"), f"{len(self.model_layers)} layers", "",
                     Text(total, style="bold", justify="right"), "", "", key=TOTAL_KEY)  # fmt: skip
        if keep and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _visible(self, layers: list[Layer], prefix: str, depth: int) -> list[tuple[str, int, Layer]]:
        ordered = list(layers)
        if self.order == "params":
            ordered.sort(key=lambda layer: -layer.params)
        elif self.order == "name":
            ordered.sort(key=lambda layer: layer.name.lower())
        rows: list[tuple[str, int, Layer]] = []
        for layer in ordered:
            path = f"{prefix}/{layer.name}" if prefix else layer.name
            inner = self._visible(layer.children, path, depth + 1)
            matches = not self.filter_text or self.filter_text in f"{layer.name} {layer.class_name}".lower()
            if self.filter_text:
                if matches or inner:
                    rows.append((path, depth, layer))
                    rows.extend(inner)
            else:
                rows.append((path, depth, layer))
                if path in self.expanded:
                    rows.extend(inner)
        return rows

    def _find(self, path: str) -> Layer:
        layers, found = self.model_layers, None
        for name in path.split("/"):
            found = next(layer for layer in layers if layer.name == name)
            layers = found.children
        assert found is not None
        return found
