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
from tui.formatting import format_shape
from tui.runtime.inputs import source_from_text
from tui.runtime.protocol import Devices, InputSource, Loaded, RunRequest, RunResult, RuntimeSignature
from tui.widgets.error_text import error_text

SOURCE_HINT = "zeros | ones | random | uniform | [JSON] | file.npy | file.npz:key | text"
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

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide timings (snapshot tests and screenshots)."""

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
            results.update(results_view(self.result, self.stable_display))
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
    the Run buttons."""

    loaded: reactive[Loaded | None] = reactive(None, recompose=True)
    """What the runtime restored; the form is empty until then."""
    devices: reactive[Devices | None] = reactive(None)
    """Offered in the device select (TensorFlow's choice first). Not a recompose: it arrives with `loaded`,
    and two rebuilds in a row can catch a Select mid-mount."""
    selected: reactive[str] = reactive("", recompose=True)
    """The chosen signature's name."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.device = AUTO_DEVICE
        self.repeat = "10"
        self.typed: dict[tuple[str, str], str] = {}
        """(signature, "value:<input>" or "shape:<input>") -> what the user typed, kept across recomposes."""

    @property
    def signature(self) -> RuntimeSignature | None:
        signatures = self.loaded.signatures if self.loaded else ()
        return next((s for s in signatures if s.name == self.selected), signatures[0] if signatures else None)

    def compose(self) -> ComposeResult:
        signature = self.signature
        if self.loaded is None:
            yield Static(Text("Load the model first: press l. Then pick a signature, fill its inputs, and "
                              "press ctrl+r to run it.", style="dim"))  # fmt: skip
            return
        if signature is None:
            yield Static(Text("Nothing to run: a checkpoint holds values, not a graph.", style="dim"))
            return
        options = [(s.name, s.name) for s in self.loaded.signatures]
        devices = self._device_options()
        with Horizontal(classes="form-row"):
            yield Label("Signature", classes="form-label")
            yield Select(options, value=signature.name, allow_blank=False, id="signature-select", compact=True)
        with Horizontal(classes="form-row"):
            yield Label("Device", classes="form-label")
            yield Select(devices, value=self._device(devices), allow_blank=False, id="device-select", compact=True)
            yield Label("Warm runs", classes="form-label")
            yield Input(self.repeat, id="repeat-input", type="integer", classes="short", compact=True)
        for i, spec in enumerate(signature.inputs):
            shown = "?" if spec.shape is None else format_shape(spec.shape)
            default = "1" if spec.shape is None else ",".join("1" if d is None else str(d) for d in spec.shape)
            yield Label(f"{spec.name}: {spec.dtype} {shown}", classes="input-label")
            with Horizontal(classes="form-row input-row"):
                value = self.typed.get((signature.name, f"value:{spec.name}"), "a fine day" if spec.dtype == "string"
                                       else "random")  # fmt: skip
                yield Input(value, placeholder=SOURCE_HINT, id=f"value-{i}", classes="value", compact=True)
                shape = self.typed.get((signature.name, f"shape:{spec.name}"), default)
                yield Input(shape, placeholder="shape, e.g. 1,224,3", id=f"shape-{i}", classes="shape", compact=True)
        with Horizontal(classes="form-row buttons"):
            yield Button("Run (ctrl+r)", id="run", variant="primary", compact=True)
            yield Button("Run & save (ctrl+s)", id="run-save", compact=True)

    def _device_options(self) -> list[tuple[str, str]]:
        names = [d.short_name for d in (self.devices.logical if self.devices else ())]
        return [("TensorFlow's choice", AUTO_DEVICE), *((name, name) for name in names)]

    def _device(self, devices: list[tuple[str, str]]) -> str:
        return self.device if self.device in {value for _, value in devices} else AUTO_DEVICE

    def watch_devices(self) -> None:
        for select in self.query("#device-select").results(Select):
            options = self._device_options()
            select.set_options(options)
            select.value = self._device(options)

    @on(Select.Changed, "#signature-select")
    def signature_changed(self, event: Select.Changed) -> None:
        value = event.value
        if not isinstance(value, str):
            return
        signature = self.signature
        if signature is not None and value == signature.name:
            self.set_reactive(InferenceForm.selected, str(value))  # the one shown: no need to rebuild the form
        else:
            self.selected = value

    @on(Select.Changed, "#device-select")
    def device_changed(self, event: Select.Changed) -> None:
        self.device = str(event.value)

    @on(Input.Changed)
    def typed_changed(self, event: Input.Changed) -> None:
        signature = self.signature
        if event.input.id == "repeat-input":
            self.repeat = event.value
        elif signature is not None and event.input.id:
            kind, _, index = event.input.id.partition("-")
            if index.isdigit() and int(index) < len(signature.inputs):
                self.typed[(signature.name, f"{kind}:{signature.inputs[int(index)].name}")] = event.value

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


def results_view(result: RunResult, stable: bool) -> RenderableType:
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
            table.add_row("top-5", ", ".join(f"{c}: {score:.4f}" for c, score in stats.top5))
        if stats.histogram:
            counts, edges = stats.histogram
            peak = max(counts) or 1
            bars = "".join(SPARKS[min(7, int(7 * c / peak))] for c in counts)
            table.add_row("histogram", f"{bars}  ({edges[0]:.3g} … {edges[-1]:.3g})")
        parts += [Text(""), table]
    return Group(*parts)


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
