"""The model screen: what an artifact is, read from its bytes in a worker, in five tabs."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.formats.ops import CHECKPOINT_OPS, flagged_ops
from tui.formats.report import load_verdict
from tui.formatting import format_shape, format_size, printable
from tui.messages import InferenceFinished, LoadProgressed, ModelInspected, ModelLoaded
from tui.runtime.session import load_model
from tui.screens.confirm import ConfirmScreen
from tui.services import Services
from tui.storage import ArtifactKind, Location
from tui.storage.cache import Progress
from tui.widgets.error_text import error_text
from tui.widgets.inference_form import InferenceForm
from tui.widgets.layer_table import LayerTable

TABS = ("overview", "signatures", "layers", "variables", "ops", "devices", "inference")


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
        Binding("6", "show_tab('devices')", "Devices", show=False, id="tab-6", tooltip="Devices, weights"),
        Binding("7", "show_tab('inference')", "Inference", show=False, id="tab-7", tooltip="Run the model"),
        Binding("l", "load", "Load", id="model-load", tooltip="Load with TensorFlow (downloads through the cache)"),
        Binding("c", "cancel_load", "Cancel", id="model-cancel", tooltip="Stop a download or load in progress"),
        Binding("ctrl+r", "run", "Run", id="model-run", tooltip="Run the chosen signature (Inference tab)"),
        Binding("ctrl+s", "run_and_save", "Run & save", show=False, id="model-save",
                tooltip="Run, and save every output as .npy in ./tfscope-outputs/"),
        Binding("slash", "filter", "Filter", id="model-filter", tooltip="Filter layers by name or class"),
        Binding("s", "sort", "Sort", id="model-sort", tooltip="Sort layers or variables (by size, by name, as saved)"),
        Binding("y", "copy_uri", "Copy URI", id="model-copy", tooltip="Copy the model's URI (OSC 52, works over SSH)"),
        Binding("question_mark", "help", "Help", id="model-help", tooltip="Show every key"),
    ]  # fmt: skip

    def __init__(self, services: Services, location: Location) -> None:
        super().__init__()
        self.services = services
        self.stores = services.stores
        self.location = location
        self.stable_display = services.settings.stable_display
        self.loaded = False
        """True once the runtime holds this model."""
        self.loading = False
        self.last_run: dict[str, Any] | None = None
        """The last inference result, as the runtime returned it."""
        self.run_error: TfscopeError | None = None
        """Why the last load or run failed, until the next one succeeds."""
        self.devices: dict[str, Any] = {}
        """The runtime's device listing, once loaded."""
        self.placement: dict[str, Any] = {}
        """Where the loaded model's variables live, and where the last inference ran."""
        self._risk_accepted = False
        """The user agreed to run this graph despite its flagged ops (asked once per model)."""
        self.info: ModelInfo | None = None
        """What the readers found, once they are done."""
        self.error: TfscopeError | None = None
        """Why reading failed, if it did."""
        self.variable_sort = "size"

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Reading ", "dim"), (printable(self.location.uri), "bold")), id="model-title")
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
            with TabPane("6 Devices", id="devices"), VerticalScroll():
                yield Static(NOT_LOADED, id="devices-body")
            with TabPane("7 Inference", id="inference"), VerticalScroll():
                yield InferenceForm(id="inference-form")
                yield Static("", id="inference-results")
        yield Static("", id="load-status")
        yield ProgressBar(id="load-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#layer-filter", Input).display = False
        self.query_one("#load-progress").display = False
        self._inspect()

    def on_unmount(self) -> None:
        if self.loaded or self.loading:
            # Leaving the model frees it: a cancel for a load in flight, an unload otherwise.
            runtime = self.services.runtime
            if self.loading:
                runtime.cancel()
            else:
                self.app.run_worker(lambda: _quietly(runtime.request, "unload", doing="unloading"), thread=True,
                                    group="unload", exit_on_error=False)  # fmt: skip

    # -- reading ----------------------------------------------------------------------------

    @property
    def inspected(self) -> bool:
        """The whole read is done (parameter counts included), or it failed."""
        return (self.info is not None and not self.info.partial) or self.error is not None

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="read model metadata")
    def _inspect(self) -> None:
        worker = get_current_worker()

        def show(info: ModelInfo) -> None:
            if not worker.is_cancelled:
                self.post_message(ModelInspected(info))

        # .keras/.h5: the layers from the config show first, parameter counts follow (see inspect_model).
        # Leaving the screen cancels this worker, and the read stops at its next step (a crafted file
        # cannot keep a core busy after the user gave up on it).
        store = self.stores.for_location(self.location)
        show(inspect_model(store, self.location, on_partial=show, cancelled=lambda: worker.is_cancelled))

    @on(ModelInspected)
    def model_inspected(self, message: ModelInspected) -> None:
        self.info = info = message.info
        title = Text.assemble((info.kind.value, "bold magenta"), "  ", (info.uri, "bold"))
        params = "reading parameters…" if info.partial else f"{info.total_params:,} params"
        title.append(f"  {params} · {format_size(info.size)}", style="dim")
        self.query_one("#model-title", Static).update(title)
        self.query_one("#overview-body", Static).update(self._overview(info))
        self.query_one("#signatures-body", Static).update(self._signatures(info))
        self.query_one(LayerTable).show(info.layers, partial=info.partial)
        self.query_one(LayerTable).display = bool(info.layers)
        self.query_one("#layers-note", Static).update(_no_layers_note(info) if not info.layers else "")
        self._fill_variables()
        self._fill_ops(info)

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = TfscopeError.wrap(event.worker.error)
        if event.worker.group in {"load", "run"}:
            self.loading = False
            self.run_error = error
            self.query_one("#load-progress").display = False
            self.query_one("#load-status", Static).update(Text(f"{error.title}: {error.detail}", style="bold red"))
            if event.worker.group == "run":
                self.query_one("#inference-results", Static).update(error_text(error, "\n"))
            self.notify(error.detail, title=error.title, severity="error", timeout=10, markup=False)
            return
        self.error = error
        unreadable = Text.assemble(("Unreadable  ", "bold red"), printable(self.location.uri))
        self.query_one("#model-title", Static).update(unreadable)
        self.query_one("#overview-body", Static).update(error_text(error))
        self.notify(error.detail, title=error.title, severity="error", timeout=8, markup=False)

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
        if info.partial:
            table.add_row("Parameters", Text("reading the weights' headers…", style="dim"))
        else:
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
                    table.add_row(direction, t.name, t.dtype, format_shape(t.shape), t.quantization or "")
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
        target = {"layers": "#layer-table", "variables": "#variable-table", "ops": "#op-table",
                  "inference": "#signature-select"}.get(tab)  # fmt: skip
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

    # -- loading and running ----------------------------------------------------------------

    def action_load(self) -> None:
        if self.info is None or self.loading:
            return
        risks = "; ".join(n.detail for n in self.info.needs_consent)
        if risks:
            if not self.services.settings.unsafe:
                self.notify(SAFE_MODE_NOTICE.format(risks=risks), title="Safe mode", severity="warning", markup=False)
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self._start_load()

            self.app.push_screen(ConfirmScreen("Load with safe mode off?", UNSAFE_RISK.format(risks=risks)), answered)
            return
        self._start_load()

    def _start_load(self) -> None:
        self.loading = True
        self.query_one("#load-progress").display = True
        self.query_one("#load-status", Static).update("Loading…  (c cancels)")
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", description="load the model")
    def _load(self) -> None:
        assert self.info is not None
        worker = get_current_worker()

        def progress(p: Progress) -> None:
            files = f"{p.done_files}/{p.total_files} files"
            self.post_message(LoadProgressed("download", p.done_bytes, p.total_bytes, p.rate, p.eta, files))

        def phase(name: str) -> None:
            self.post_message(LoadProgressed(name))

        runtime = self.services.runtime
        loaded = load_model(
            self.stores, runtime, self.services.cache, self.location, self.info.kind,
            unsafe=self.services.settings.unsafe, on_phase=phase, on_progress=progress,
            cancelled=lambda: worker.is_cancelled, needs=self.info.needs,
        )  # fmt: skip
        devices = runtime.devices()
        placement = runtime.request("placement", doing="reading placement")
        if not worker.is_cancelled:
            self.post_message(ModelLoaded(loaded.signatures, devices, placement, loaded.downloaded_bytes))

    def action_cancel_load(self) -> None:
        if self.loading:
            self.workers.cancel_group(self, "load")
            self.services.runtime.cancel()

    @on(LoadProgressed)
    def load_progressed(self, message: LoadProgressed) -> None:
        bar = self.query_one("#load-progress", ProgressBar)
        if message.phase == "download" and message.total_bytes:
            bar.update(total=message.total_bytes, progress=message.done_bytes)
            eta = f", {message.eta:.0f} s left" if message.eta is not None else ""
            text = (f"Downloading {format_size(message.done_bytes)} of {format_size(message.total_bytes)} "
                    f"({format_size(int(message.rate))}/s{eta}), {message.files}  (c cancels)")  # fmt: skip
        else:
            bar.update(total=None)
            text = f"{message.phase.capitalize()}…  (c cancels)"
        self.query_one("#load-status", Static).update(text)

    @on(ModelLoaded)
    def model_loaded(self, message: ModelLoaded) -> None:
        self.loading, self.loaded = False, True
        self.query_one("#load-progress").display = False
        fetched = f"downloaded {format_size(message.downloaded)}" if message.downloaded else "from the cache or disk"
        if not self.location.is_gcs:
            fetched = "loaded in place"
        self.query_one("#load-status", Static).update(
            Text(f"Loaded ({fetched}). 6: devices, 7: run it.", style="green")
        )
        logical = [d["name"].replace("/device:", "/") for d in message.devices.get("logical", [])]
        self.devices, self.placement, self.run_error = message.devices, message.placement, None
        self.query_one("#devices-body", Static).update(_devices_view(message.devices, message.placement))
        self.query_one(InferenceForm).show(message.signatures, logical)
        if not message.signatures:
            self.query_one("#inference-results", Static).update(
                Text("Nothing to run: a checkpoint holds values, not a graph.", style="dim"))  # fmt: skip

    def action_run(self, save: bool = False) -> None:
        if not self.loaded or self.info is None:
            self.notify("Load the model first: press l.", timeout=4)
            return
        try:
            request = self.query_one(InferenceForm).request()
        except ValueError as error:
            self.run_error = TfscopeError(str(error), title="Bad input")
            self.query_one("#inference-results", Static).update(error_text(self.run_error, "\n"))
            return
        if save:
            folder = Path.cwd() / "tfscope-outputs"
            folder.mkdir(exist_ok=True)
            request["save_dir"] = str(folder)
        flagged = flagged_ops(self.info.ops) if self.info.kind is ArtifactKind.SAVED_MODEL else {}
        if flagged and not self._risk_accepted:
            listed = ", ".join(f"{op} ({why})" for op, why in flagged.items())

            def answered(yes: bool | None) -> None:
                if yes:
                    self._risk_accepted = True
                    self._run(request)

            self.app.push_screen(ConfirmScreen("Run a graph that touches files or calls Python?", listed), answered)
            return
        self._run(request)

    def action_run_and_save(self) -> None:
        self.action_run(save=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run", description="run inference")
    def _run(self, request: dict[str, Any]) -> None:
        runtime = self.services.runtime
        result = runtime.request("run", doing=f"running {request['signature']}", **request)
        placement = runtime.request("placement", doing="reading placement")
        if not get_current_worker().is_cancelled:
            self.post_message(InferenceFinished(result, placement))

    @on(InferenceFinished)
    def inference_finished(self, message: InferenceFinished) -> None:
        self.last_run, self.placement, self.run_error = message.result, message.placement, None
        self.query_one("#inference-results", Static).update(_results_view(message.result, self.stable_display))
        self.query_one("#devices-body", Static).update(_devices_view(self.devices, message.placement))

    def action_copy_uri(self) -> None:
        self.app.copy_to_clipboard(self.location.uri)
        self.notify(f"Copied {printable(self.location.uri)}", timeout=3, markup=False)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(binding_rows(self)))


SAFE_MODE_NOTICE = (
    "Loading this model needs {risks}, which safe mode refuses. Restart tfscope with --unsafe to load it, "
    "only if you trust who saved it."
)
UNSAFE_RISK = "Loading it means {risks}: only for models from people you trust."
NOT_LOADED = Text("Not loaded yet: press l to load the model with TensorFlow (in a separate process).", style="dim")


def _quietly(function: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(TfscopeError):  # unloading a model whose runtime already went away
        function(*args, **kwargs)


def _devices_view(devices: dict[str, Any], placement: dict[str, Any]) -> RenderableType:
    table = Table("Kind", "Type", "Name", "Details", title="Devices", title_justify="left", show_edge=False)
    for kind in ("physical", "logical"):
        for d in devices.get(kind, []):
            details = []
            if d.get("model"):
                details.append(d["model"])
            if d.get("compute_capability"):
                details.append(f"compute {d['compute_capability']}")
            for key, label in (("memory_total", "total"), ("memory_in_use", "in use"), ("memory_peak", "peak")):
                if d.get(key) is not None:
                    details.append(f"{label} {format_size(int(d[key]))}")
            table.add_row(kind, d.get("type", ""), d.get("name", ""), ", ".join(details))
    tpu = devices.get("tpu")
    tpu_line = Text(
        f"TPU: {tpu}" if tpu else "TPU: none found (Cloud TPU VMs and Colab TPUs are detected)", style="dim"
    )
    totals = Table("Device", "Variables", "Bytes", title="Where the model's weights live", title_justify="left",
                   show_edge=False)  # fmt: skip
    counts: dict[str, int] = {}
    for v in placement.get("variables", []):
        counts[v["device"]] = counts.get(v["device"], 0) + 1
    for device, nbytes in placement.get("totals", {}).items():
        totals.add_row(device, str(counts.get(device, 0)), format_size(int(nbytes)))
    last = placement.get("last_inference_device") or "no inference yet"
    return Group(table, tpu_line, Text(""), totals, Text(f"Last inference ran on: {last}"))


SPARKS = "▁▂▃▄▅▆▇█"


def _results_view(result: dict[str, Any], stable: bool) -> RenderableType:
    timings = result["timings"]
    parts: list[RenderableType] = []
    if not stable:
        line = f"{result['signature']} on {result['device']}: first call {timings['first_ms']:.1f} ms (tracing)"
        if timings.get("runs"):
            line += (f", {timings['runs']} warm runs p50 {timings['p50_ms']:.2f} ms, p95 {timings['p95_ms']:.2f} ms, "
                     f"min {timings['min_ms']:.2f} ms")  # fmt: skip
        parts.append(Text(line, style="bold"))
    for name, stats in result["outputs"].items():
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("output", f"{name}: {stats['dtype']} {tuple(stats['shape'])}")
        if "mean" in stats:
            table.add_row("range", f"min {stats['min']:.4g}  max {stats['max']:.4g}  mean {stats['mean']:.4g}  "
                          f"std {stats['std']:.4g}")  # fmt: skip
            bad = stats["nan"] + stats["inf"]
            table.add_row("NaN / Inf", Text(f"{stats['nan']} / {stats['inf']}", style="bold red" if bad else ""))
        table.add_row(
            "first values", ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in stats["preview"])
        )
        if "top5" in stats:
            table.add_row("top-5", ", ".join(f"{t['class']}: {t['score']:.4f}" for t in stats["top5"]))
        histogram = stats.get("histogram")
        if histogram:
            peak = max(histogram["counts"]) or 1
            bars = "".join(SPARKS[min(7, int(7 * c / peak))] for c in histogram["counts"])
            table.add_row("histogram", f"{bars}  ({histogram['edges'][0]:.3g} … {histogram['edges'][-1]:.3g})")
        parts += [Text(""), table]
    return Group(*parts)


def _no_layers_note(info: ModelInfo) -> Text:
    why = {
        ArtifactKind.SAVED_MODEL: "This SavedModel keeps no Keras layer config (Keras 3 exports and plain tf.Modules "
        "don't); its weights are in tab 4, its graph's ops in tab 5.",
        ArtifactKind.CHECKPOINT: "A checkpoint holds values, not layers: tab 4 lists every variable.",
        ArtifactKind.TFLITE: "TFLite keeps ops, not layers: tab 5 lists them, tab 4 the constant tensors.",
    }.get(info.kind, "No layers were found in this model's config.")
    return Text(why, style="dim")
