"""Tab 3: a Keras-style summary, nested models expandable, filterable, sortable, with a total."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Input, Static

from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import Layer, ModelInfo
from tui.formatting import yes_no
from tui.widgets.columns import Column, middle_ellipsis, natural_width, set_columns
from tui.widgets.row_table import RowTable

SORTS = ("order", "params", "name")
"""Orders `s` cycles through: as saved, biggest first, alphabetical."""
TOTAL_KEY = "__total__"


class LayersTab(Vertical):
    """The filter box (shown by `/`), a note when there are no layers, and the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="layers-filter", tooltip="Filter layers by name or class"),
        Binding("s", "sort", "Sort", id="layers-sort", tooltip="Sort layers: as saved, by params, by name"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="layers-clear",
                tooltip="Clear the layer filter"),
    ]  # fmt: skip

    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter layers (enter: keep, escape: clear)", id="layer-filter")
        yield Static("", id="layers-note")
        yield LayerTable(id="layer-table")

    def on_mount(self) -> None:
        self.query_one("#layer-filter").display = False
        self.watch_info(self.info)

    def watch_info(self, info: ModelInfo | None) -> None:
        if not self.is_mounted or info is None:
            return
        table = self.query_one(LayerTable)
        table.show(info.layers, partial=info.partial)
        table.display = bool(info.layers)
        note = self.query_one("#layers-note", Static)
        note.update(_no_layers_note(info) if not info.layers else "")
        note.display = not info.layers

    def action_filter(self) -> None:
        box = self.query_one("#layer-filter", Input)
        box.display = True
        box.focus()

    def action_sort(self) -> None:
        table = self.query_one(LayerTable)
        table.cycle_sort()
        self.notify(f"Layers sorted by {table.order}", timeout=2)

    def action_clear_filter(self) -> None:
        box = self.query_one("#layer-filter", Input)
        if not box.display:
            raise SkipAction()  # no filter: escape goes on to the screen (back to the browser)
        box.value = ""
        box.display = False
        self.query_one(LayerTable).focus()

    @on(Input.Changed, "#layer-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(LayerTable).set_filter(event.value)

    @on(Input.Submitted, "#layer-filter")
    def filter_submitted(self) -> None:
        self.query_one(LayerTable).focus()


class LayerTable(RowTable):
    """Rows for `layers`; a nested model's row toggles its children with enter. Columns that do not
    fit go, least useful first (Connected to, Trainable...); names are cut in the middle."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "toggle_nested", "Expand", id="layers-toggle", tooltip="Show or hide a nested model's layers"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
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

    def show(self, layers: list[Layer], partial: bool = False) -> None:
        """Show `layers`; `partial`: their parameter counts are still being read (shown as …)."""
        self.model_layers = layers
        self.partial = partial
        self.refresh_rows(keep=self.highlighted_key)

    def on_resize(self, event: Resize) -> None:
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
        rows = []
        for path, depth, layer in self._visible(self.model_layers, "", 0):
            marker = ("▾ " if path in self.expanded else "▸ ") if layer.children else "  "
            params = "…" if self.partial else f"{layer.params:,}"
            values = {"name": "  " * depth + marker + layer.name, "class": layer.class_name,
                     "shape": layer.output_shape or "", "params": params, "trainable": yes_no(layer.trainable),
                     "connected": ", ".join(layer.connected_to)}  # fmt: skip
            rows.append((path, values, bool(layer.children)))
        total = "…" if self.partial else f"{sum(layer.params for layer in self.model_layers):,}"
        rows.append((TOTAL_KEY, {"name": "Total", "class": f"{len(self.model_layers)} layers", "shape": "",
                                 "params": total, "trainable": "", "connected": ""}, True))  # fmt: skip

        table_rows = [r for _, r, _ in rows]
        columns = [
            Column("name", "Layer", natural_width(table_rows, "name", "Layer", 40), 0, minimum=14),
            Column("class", "Class", natural_width(table_rows, "class", "Class", 22), 2),
            Column("shape", "Output shape", natural_width(table_rows, "shape", "Output shape", 22), 3),
            Column("params", "Params", natural_width(table_rows, "params", "Params", 14), 1),
            Column("trainable", "Trainable", 9, 5),
            Column("connected", "Connected to", natural_width(table_rows, "connected", "Connected to", 40), 4),
        ]
        shown = set_columns(self, columns, table_rows, self.size.width)
        for key, row, bold in rows:
            cells: list[Text] = []
            for column, width in shown:
                text = middle_ellipsis(row[column.key], width)
                style = "bold" if bold and column.key in {"name", "params"} else ""
                cells.append(Text(text, style=style, justify="right" if column.key == "params" else "left"))
            self.add_row(*cells, key=key)
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


def _no_layers_note(info: ModelInfo) -> Text:
    why = {
        ArtifactKind.SAVED_MODEL: "This SavedModel keeps no Keras layer config (Keras 3 exports and plain tf.Modules "
        "don't); its weights are in tab 4, its graph's ops in tab 5.",
        ArtifactKind.CHECKPOINT: "A checkpoint holds values, not layers: tab 4 lists every variable.",
        ArtifactKind.TFLITE: "TFLite keeps ops, not layers: tab 5 lists them, tab 4 the constant tensors.",
    }.get(info.kind, "No layers were found in this model's config.")
    return Text(why, style="dim")
