"""Tab 7: pick a signature and a device, give each input a value and a shape, run, see the outputs."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Select, Static

from tui.errors import TfscopeError
from tui.formats.card_report import output_labels, top5_text
from tui.formats.model_info import ModelInfo
from tui.formatting import format_shape
from tui.runtime.inputs import source_from_text
from tui.runtime.protocol import Devices, InputSource, Loaded, RunRequest, RunResult, RuntimeSignature
from tui.widgets.error_text import error_text
from tui.widgets.path_suggester import PathSuggester

SOURCE_HINT = "zeros | ones | random | uniform | [JSON] | file.npy | file.npz:key | picture.jpg | clip.wav | text"
AUTO_DEVICE = "auto"
SPARKS = "▁▂▃▄▅▆▇█"


class InferenceTab(VerticalScroll, can_focus=False):
    """The form, then the last run's outputs (or why it could not run). Not focusable itself: tab goes
    straight from field to field (the tab scrolls to the focused one)."""

    class RunPressed(Message):
        """A Run button was pressed; `save` for Run & save."""

        def __init__(self, save: bool) -> None:
            super().__init__()
            self.save = save

    loaded: reactive[Loaded | None] = reactive(None)
    """What the runtime restored (its signatures); None when nothing is loaded."""
    devices: reactive[Devices | None] = reactive(None)
    """The runtime's devices, for the device select."""
    result: reactive[RunResult | None] = reactive(None)
    """The last run's outputs."""
    run_error: reactive[TfscopeError | None] = reactive(None)
    """Why the last run could not run, until the next one does."""
    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read: its metadata's label files name the top-5 classes."""

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide timings (snapshot tests and screenshots)."""
        self.asset_labels: tuple[str, ...] = ()
        """Class names from a SavedModel's label-like asset, for outputs the metadata names none of."""

    def compose(self) -> ComposeResult:
        yield InferenceForm(id="inference-form").data_bind(InferenceTab.loaded, InferenceTab.devices)
        yield Static("", id="inference-results")

    def watch_result(self) -> None:
        self._show()

    def watch_run_error(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.is_mounted:
            return
        results = self.query_one("#inference-results", Static)
        if self.run_error is not None:
            results.update(error_text(self.run_error, "\n"))
        elif self.result is not None:
            labels = output_labels(self.info.card if self.info else None, list(self.result.outputs))
            if self.asset_labels:
                labels = {n: self.asset_labels for n, s in self.result.outputs.items() if s.top5} | labels
            results.update(results_view(self.result, self.stable_display, labels))
        else:
            results.update("")

    @on(Button.Pressed, "#run, #run-save")
    def run_pressed(self, event: Button.Pressed) -> None:
        self.post_message(self.RunPressed(save=event.button.id == "run-save"))

    @property
    def form(self) -> InferenceForm:
        return self.query_one(InferenceForm)


class InferenceForm(Vertical):
    """Built from the loaded model's signatures; `request()` reads it back. Rows wrap to fit 80 columns,
    and tab walks every field in order: signature, device, warm runs, each input's value and shape,
    the Run buttons.

    The two selects are built once and refilled in place; only the input rows are rebuilt when the
    signature changes. A Select rebuilt while the app tears down is caught mid-mount (Textual 8.2's
    Select._on_mount then raises NoMatches), and quitting just as a load ends is an ordinary thing to do.
    """

    loaded: reactive[Loaded | None] = reactive(None)
    """What the runtime restored; the form shows a hint instead of fields until then."""
    devices: reactive[Devices | None] = reactive(None)
    """Offered in the device select (TensorFlow's choice first)."""
    selected: reactive[str] = reactive("")
    """The chosen signature's name."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.device = AUTO_DEVICE
        self.repeat = "10"
        self.typed: dict[tuple[str, str], str] = {}
        """(signature, "value:<input>" or "shape:<input>") -> what the user typed, kept across rebuilds."""

    @property
    def signature(self) -> RuntimeSignature | None:
        signatures = self.loaded.signatures if self.loaded else ()
        return next((s for s in signatures if s.name == self.selected), signatures[0] if signatures else None)

    def compose(self) -> ComposeResult:
        yield Static(id="form-note")
        with Horizontal(classes="form-row form-field"):
            yield Label("Signature", classes="form-label")
            yield Select([("", "")], value="", allow_blank=False, id="signature-select", compact=True)
        with Horizontal(classes="form-row form-field"):
            yield Label("Device", classes="form-label")
            options = self._device_options()
            yield Select(options, value=self._device(options), allow_blank=False, id="device-select", compact=True)
            yield Label("Warm runs", classes="form-label")
            yield Input(self.repeat, id="repeat-input", type="integer", classes="short", compact=True)
        yield InputRows(self.typed, classes="form-field")
        with Horizontal(classes="form-row buttons form-field"):
            yield Button("Run (ctrl+r)", id="run", variant="primary", compact=True)
            yield Button("Run & save (ctrl+s)", id="run-save", compact=True)

    def on_mount(self) -> None:
        self.watch_loaded()

    def watch_loaded(self) -> None:
        if not self.is_mounted:
            return
        names = [s.name for s in self.loaded.signatures] if self.loaded else []
        select = self.query_one("#signature-select", Select)
        with select.prevent(Select.Changed):  # a refill is not the user's choice
            select.set_options([(name, name) for name in names] or [("", "")])
            signature = self.signature
            select.value = signature.name if signature else ""
        self.set_reactive(InferenceForm.selected, signature.name if signature else "")
        self._show()

    def watch_selected(self) -> None:
        if not self.is_mounted:
            return
        signature = self.signature
        select = self.query_one("#signature-select", Select)
        if signature is not None and select.value != signature.name:
            with select.prevent(Select.Changed):
                select.value = signature.name
        self._show()

    def watch_devices(self) -> None:
        for select in self.query("#device-select").results(Select):
            options = self._device_options()
            with select.prevent(Select.Changed):
                select.set_options(options)
                select.value = self._device(options)

    def _show(self) -> None:
        """The fields for the chosen signature, or a line that says why there are none."""
        signature = self.signature
        note = self.query_one("#form-note", Static)
        if self.loaded is None:
            note.update(Text("Load the model first: press l. Then pick a signature, fill its inputs, and "
                             "press ctrl+r to run it.", style="dim"))  # fmt: skip
        elif signature is None:
            note.update(Text("Nothing to run: a checkpoint holds values, not a graph.", style="dim"))
        note.display = signature is None
        for part in self.query(".form-field"):
            part.display = signature is not None
        self.query_one(InputRows).signature = signature

    def _device_options(self) -> list[tuple[str, str]]:
        names = [d.short_name for d in (self.devices.logical if self.devices else ())]
        return [("TensorFlow's choice", AUTO_DEVICE), *((name, name) for name in names)]

    def _device(self, devices: list[tuple[str, str]]) -> str:
        return self.device if self.device in {value for _, value in devices} else AUTO_DEVICE

    @on(Select.Changed, "#signature-select")
    def signature_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value:
            self.selected = event.value

    @on(Select.Changed, "#device-select")
    def device_changed(self, event: Select.Changed) -> None:
        self.device = str(event.value)

    @on(Input.Changed)
    def typed_changed(self, event: Input.Changed) -> None:
        if event.input.id == "repeat-input":
            self.repeat = event.value
        elif isinstance(event.input, FieldInput):  # keyed by the field, not the signature shown when it arrives
            self.typed[event.input.key] = event.value

    def request(self, save_dir: str | None = None) -> RunRequest:
        """The run request: signature, each input's source and shape, device, repeat.

        Raises:
            ValueError: a shape or a repeat count that is not one (the message names which).
        """
        signature = self.signature
        if signature is None:
            raise ValueError("Load the model first (l), then pick a signature.")
        inputs: dict[str, InputSource] = {}
        for i, spec in enumerate(signature.inputs):
            typed = self.query_one(f"#value-{i}", Input).value
            source = source_from_text(typed)
            dims = self.query_one(f"#shape-{i}", Input).value.replace("(", "").replace(")", "").replace(" ", "")
            try:
                shape = tuple(int(d) for d in dims.split(",") if d)
            except ValueError:
                shape = (0,)
            if not shape or any(d < 1 for d in shape):
                raise ValueError(
                    f"input '{spec.name}': the shape must be whole numbers of at least 1, like 1,224,224,3"
                )
            inputs[spec.name] = InputSource(source.source, source.value, source.path, source.key, shape)
        try:
            repeat = int(self.repeat or 0)
        except ValueError:
            repeat = -1
        if not 0 <= repeat <= 10_000:
            raise ValueError("Warm runs must be a whole number from 0 to 10,000.")
        device = None if self.device == AUTO_DEVICE else self.device
        return RunRequest(signature.name, inputs, device, repeat, save_dir)


class InputRows(Vertical):
    """Each input of one signature: its name, dtype and shape, then a value field and a shape field."""

    signature: reactive[RuntimeSignature | None] = reactive(None, recompose=True)
    """The signature whose inputs are shown."""

    def __init__(self, typed: dict[tuple[str, str], str], *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.typed = typed
        """The form's memory of what was typed, so a rebuild keeps it."""

    def compose(self) -> ComposeResult:
        signature = self.signature
        if signature is None:
            return
        for i, spec in enumerate(signature.inputs):
            shown = "?" if spec.shape is None else format_shape(spec.shape)
            default = "1" if spec.shape is None else ",".join("1" if d is None else str(d) for d in spec.shape)
            yield Label(f"{spec.name}: {spec.dtype} {shown}", classes="input-label")
            with Horizontal(classes="form-row input-row"):
                key = (signature.name, f"value:{spec.name}")
                value = self.typed.get(key, "a fine day" if spec.dtype == "string" else "random")
                yield FieldInput(key, value, placeholder=SOURCE_HINT, id=f"value-{i}", classes="value", compact=True,
                                 suggester=PathSuggester())  # fmt: skip
                key = (signature.name, f"shape:{spec.name}")
                yield FieldInput(key, self.typed.get(key, default), placeholder="shape, e.g. 1,224,3", id=f"shape-{i}",
                                 classes="shape", compact=True)  # fmt: skip


class FieldInput(Input):
    """An input's value or shape field, tagged with what it is for."""

    def __init__(self, key: tuple[str, str], value: str, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self.key = key
        """(signature, "value:<input>" or "shape:<input>")."""


def results_view(result: RunResult, stable: bool, labels: dict[str, tuple[str, ...]] | None = None) -> RenderableType:
    """A run's outputs: shape, dtype, range, NaN/Inf, first values, top-5 and a histogram each."""
    t = result.timings
    parts: list[RenderableType] = []
    if not stable:
        line = f"{result.signature} on {result.device}: first call {t.first_ms:.1f} ms"
        line += f" ({t.first_call})" if t.first_call != "first call" else ""
        if t.runs:
            line += f", {t.runs} warm runs p50 {t.p50_ms:.2f} ms, p95 {t.p95_ms:.2f} ms, min {t.min_ms:.2f} ms"
        parts.append(Text(line, style="bold"))
    if result.saved:
        parts.append(Text(f"Saved {len(result.saved)} output(s): {', '.join(result.saved)}", style="green"))
    for name, stats in result.outputs.items():
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("output", f"{name}: {stats.dtype} {tuple(stats.shape)}")
        if stats.mean is not None:
            table.add_row(
                "range", f"min {stats.min:.4g}  max {stats.max:.4g}  mean {stats.mean:.4g}  std {stats.std:.4g}"
            )
        if stats.numeric:
            bad = stats.nan + stats.inf
            table.add_row("NaN / Inf", Text(f"{stats.nan} / {stats.inf}", style="bold red" if bad else ""))
        table.add_row("first values", ", ".join(_value(v) for v in stats.preview))
        if stats.top5:
            table.add_row("top-5", top5_text(stats.top5, (labels or {}).get(name, ())))
        if stats.histogram:
            counts, edges = stats.histogram
            peak = max(counts) or 1
            bars = "".join(SPARKS[min(7, int(7 * c / peak))] for c in counts)
            table.add_row("histogram", f"{bars}  ({edges[0]:.3g} … {edges[-1]:.3g})")
        parts += [Text(""), table]
    return Group(*parts)


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
