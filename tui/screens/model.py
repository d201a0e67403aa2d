"""The model screen: what an artifact is, read from its bytes in a worker, in five tabs."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo, TensorSpec
from tui.formats.ops import CHECKPOINT_OPS, flagged_ops
from tui.formats.report import load_verdict
from tui.formatting import format_size
from tui.messages import ModelInspected
from tui.storage import ArtifactKind, Location, Stores
from tui.widgets.layer_table import LayerTable

TABS = ("overview", "signatures", "layers", "variables", "ops")


class ModelScreen(Screen[None]):
    """One artifact; `escape` goes back to the browser where it was."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="model-back", tooltip="Back to the browser, where you were"),
        Binding("tab", "next_tab", "Next tab", id="model-next-tab", tooltip="Show the next tab"),
        Binding("shift+tab", "previous_tab", "Previous tab", show=False, id="model-prev-tab",
                tooltip="Show the previous tab"),
        Binding("1", "show_tab('overview')", "Overview", show=False, id="tab-1", tooltip="Format, size, versions"),
        Binding("2", "show_tab('signatures')", "Signatures", show=False, id="tab-2", tooltip="Inputs and outputs"),
        Binding("3", "show_tab('layers')", "Layers", show=False, id="tab-3", tooltip="Keras-style summary"),
        Binding("4", "show_tab('variables')", "Variables", show=False, id="tab-4", tooltip="Weights, biggest first"),
        Binding("5", "show_tab('ops')", "Ops", show=False, id="tab-5", tooltip="Op types, risky ones flagged"),
        Binding("slash", "filter", "Filter", id="model-filter", tooltip="Filter layers by name or class"),
        Binding("s", "sort", "Sort", id="model-sort", tooltip="Sort layers or variables (by size, by name, as saved)"),
        Binding("y", "copy_uri", "Copy URI", id="model-copy", tooltip="Copy the model's URI (OSC 52, works over SSH)"),
        Binding("question_mark", "help", "Help", id="model-help", tooltip="Show every key"),
    ]  # fmt: skip

    def __init__(self, stores: Stores, location: Location, *, stable_display: bool = False) -> None:
        super().__init__()
        self.stores = stores
        self.location = location
        self.stable_display = stable_display
        self.info: ModelInfo | None = None
        """What the readers found, once they are done."""
        self.error: TfscopeError | None = None
        """Why reading failed, if it did."""
        self.variable_sort = "size"

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Reading ", "dim"), (self.location.uri, "bold")), id="model-title")
        with TabbedContent(id="model-tabs", initial="overview"):
            with TabPane("1 Overview", id="overview"), VerticalScroll():
                yield Static("Reading the model's metadata…", id="overview-body")
            with TabPane("2 Signatures", id="signatures"), VerticalScroll():
                yield Static("", id="signatures-body")
            with TabPane("3 Layers", id="layers"):
                yield Input(placeholder="filter layers (enter: keep, escape: clear)", id="layer-filter")
                yield Static("", id="layers-note")
                yield LayerTable(id="layer-table")
            with TabPane("4 Variables", id="variables"):
                yield DataTable(id="variable-table", cursor_type="row", zebra_stripes=True)
            with TabPane("5 Ops", id="ops"):
                yield DataTable(id="op-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#layer-filter", Input).display = False
        self._inspect()

    # -- reading ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="read model metadata")
    def _inspect(self) -> None:
        info = inspect_model(self.stores.for_location(self.location), self.location)
        if not get_current_worker().is_cancelled:
            self.post_message(ModelInspected(info))

    @on(ModelInspected)
    def model_inspected(self, message: ModelInspected) -> None:
        self.info = info = message.info
        title = Text.assemble((info.kind.value, "bold magenta"), "  ", (info.uri, "bold"))
        title.append(f"  {info.total_params:,} params · {format_size(info.size)}", style="dim")
        self.query_one("#model-title", Static).update(title)
        self.query_one("#overview-body", Static).update(self._overview(info))
        self.query_one("#signatures-body", Static).update(self._signatures(info))
        self.query_one(LayerTable).show(info.layers)
        self.query_one(LayerTable).display = bool(info.layers)
        self.query_one("#layers-note", Static).update(_no_layers_note(info) if not info.layers else "")
        self._fill_variables()
        self._fill_ops(info)

    @on(Worker.StateChanged)
    def inspect_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if not isinstance(error, TfscopeError):
            error = TfscopeError(f"{type(error).__name__}: {error}", title="Could not read the model")
        self.error = error
        text = Text.assemble((error.title + "\n\n", "bold red"), error.detail)
        if error.fix:
            text.append("\n\nFix: ", style="bold")
            text.append(error.fix)
        self.query_one("#model-title", Static).update(Text.assemble(("Unreadable  ", "bold red"), self.location.uri))
        self.query_one("#overview-body", Static).update(text)
        self.notify(error.detail, title=error.title, severity="error", timeout=8)

    # -- tab contents -----------------------------------------------------------------------

    def _overview(self, info: ModelInfo) -> RenderableType:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("Format", info.kind.value)
        table.add_row("URI", info.uri)
        if info.kind is ArtifactKind.KERAS:
            table.add_row("Size on storage", f"{format_size(info.size)}, a zip of {len(info.files)} members")
        else:
            table.add_row("Size on storage", f"{format_size(info.size)} in {len(info.files)} file(s)")
        for label, version in info.versions.items():
            table.add_row(label, version)
        table.add_row("Parameters", f"{info.total_params:,}")
        for dtype, (count, nbytes) in info.params_by_dtype().items():
            table.add_row("", f"{dtype}: {count:,} ({format_size(nbytes)})")
        if info.tag_sets:
            table.add_row("Tag-sets", "; ".join(", ".join(t) for t in info.tag_sets))
        table.add_row("Load with", Text(load_verdict(info), style="green" if not info.needs else "yellow"))
        for label, value in info.details.items():
            if not (self.stable_display and label in {"Saved", "Fingerprint"}):
                table.add_row(label, value)
        if info.assets:
            table.add_row("Assets", ", ".join(info.assets))
        if info.bytes_read is not None and not self.stable_display:
            share = f" ({100 * info.bytes_read / info.size:.1f}% of it)" if info.size else ""
            table.add_row("Read to show this", f"{format_size(info.bytes_read)} in {info.requests} requests{share}")
        files_title = "Inside the zip" if info.kind is ArtifactKind.KERAS else "Files"
        files = Table("File", "Size", title=files_title, title_justify="left", show_edge=False)
        for path, size in info.files[:50]:
            files.add_row(path, Text(format_size(size), justify="right"))
        if len(info.files) > 50:
            files.add_row(f"… {len(info.files) - 50} more", "")
        return Group(table, Text(""), files)

    def _signatures(self, info: ModelInfo) -> RenderableType:
        if not info.signatures:
            return Text("This format has no signatures: its entry point is the model's code.", style="dim")
        blocks: list[RenderableType] = []
        for sig in info.signatures:
            table = Table("", "Name", "Dtype", "Shape", "Quantization", show_edge=False, title_justify="left",
                          title=f"{sig.name}  ({sig.method})", title_style="bold")  # fmt: skip
            for direction, tensors in (("in", sig.inputs), ("out", sig.outputs)):
                for t in tensors:
                    table.add_row(direction, t.name, t.dtype, _shape(t), t.quantization or "")
            blocks += [table, Text("")]
        return Group(*blocks)

    def _fill_variables(self) -> None:
        table = self.query_one("#variable-table", DataTable)
        table.clear(columns=True)
        for label in ("Name", "Shape", "Dtype", "Size", "Bytes", "Trainable", "Group"):
            table.add_column(label, key=label.lower())
        if self.info is None:
            return
        variables = list(self.info.variables)
        if self.variable_sort == "size":
            variables.sort(key=lambda v: -v.size)
        elif self.variable_sort == "name":
            variables.sort(key=lambda v: v.name)
        for i, v in enumerate(variables):
            trainable = "" if v.trainable is None else ("yes" if v.trainable else "no")
            table.add_row(v.name, str(v.shape), v.dtype, Text(f"{v.size:,}", justify="right"),
                          Text(format_size(v.nbytes), justify="right"), trainable, v.group, key=str(i))  # fmt: skip

    def _fill_ops(self, info: ModelInfo) -> None:
        table = self.query_one("#op-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Op", "Count", "Note")
        flagged = flagged_ops(info.ops)
        for op, count in info.ops.items():
            if op in flagged:
                note = Text(f"! {flagged[op]}", style="bold red")
            elif op in CHECKPOINT_OPS:
                note = Text("checkpoint I/O, in every SavedModel", style="dim")
            else:
                note = Text("")
            table.add_row(op, Text(f"{count:,}", justify="right"), note)

    # -- actions ----------------------------------------------------------------------------

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    def action_next_tab(self) -> None:
        self._switch(1)

    def action_previous_tab(self) -> None:
        self._switch(-1)

    def _switch(self, step: int) -> None:
        index = TABS.index(self.tabs.active) if self.tabs.active in TABS else 0
        self.show_tab(TABS[(index + step) % len(TABS)])

    def action_show_tab(self, tab: str) -> None:
        self.show_tab(tab)

    def show_tab(self, tab: str) -> None:
        self.tabs.active = tab
        target = {"layers": "#layer-table", "variables": "#variable-table", "ops": "#op-table"}.get(tab)
        if target:
            self.query_one(target).focus()

    def action_filter(self) -> None:
        self.show_tab("layers")
        box = self.query_one("#layer-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#layer-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(LayerTable).set_filter(event.value)

    @on(Input.Submitted, "#layer-filter")
    def filter_submitted(self) -> None:
        self.query_one(LayerTable).focus()

    def action_sort(self) -> None:
        if self.tabs.active == "variables":
            self.variable_sort = {"size": "name", "name": "saved", "saved": "size"}[self.variable_sort]
            self._fill_variables()
            self.notify(f"Variables sorted by {self.variable_sort}", timeout=2)
        else:
            table = self.query_one(LayerTable)
            table.cycle_sort()
            self.notify(f"Layers sorted by {table.order}", timeout=2)

    def action_back(self) -> None:
        box = self.query_one("#layer-filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(LayerTable).focus()
            return
        self.app.pop_screen()

    def action_copy_uri(self) -> None:
        self.app.copy_to_clipboard(self.location.uri)
        self.notify(f"Copied {self.location.uri}", timeout=3)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(binding_rows(self)))


def _no_layers_note(info: ModelInfo) -> Text:
    why = {
        ArtifactKind.SAVED_MODEL: "This SavedModel keeps no Keras layer config (Keras 3 exports and plain tf.Modules "
        "don't); its weights are in tab 4, its graph's ops in tab 5.",
        ArtifactKind.CHECKPOINT: "A checkpoint holds values, not layers: tab 4 lists every variable.",
        ArtifactKind.TFLITE: "TFLite keeps ops, not layers: tab 5 lists them, tab 4 the constant tensors.",
    }.get(info.kind, "No layers were found in this model's config.")
    return Text(why, style="dim")


def _shape(t: TensorSpec) -> str:
    if t.shape is None:
        return "unknown rank"
    return "(" + ", ".join("None" if d is None else str(d) for d in t.shape) + ("," if len(t.shape) == 1 else "") + ")"
