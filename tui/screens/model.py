"""The model screen: one artifact, its metadata in tabs, its load, its runs.

The screen holds the state (model_state: what was read, where loading stands, what the runtime
restored, the last run) as reactives, the workers that change it (model_loading for the load; the
runs here), and the keys. Each tab is a widget in widgets/model/ that renders its part of the state,
bound with data_bind. The app keeps the last model screen (see app.py), so going back to the browser
and opening it again finds it as it was, loaded or loading.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.labels import read_label_asset
from tui.formats.limits import InspectionCancelled
from tui.formats.ops import flagged_ops
from tui.formatting import printable
from tui.messages import DiffRequested, InferenceFinished, ModelMarked
from tui.runtime.protocol import RunRequest
from tui.runtime.session import new_output_folder
from tui.screens.confirm import ConfirmScreen
from tui.screens.model_loading import CANCELLED, ModelLoading
from tui.screens.model_state import ModelScreenState
from tui.widgets.model.devices import DevicesTab
from tui.widgets.model.inference import InferenceTab
from tui.widgets.model.layers import LayersTab
from tui.widgets.model.load_status import LoadState, LoadStatus
from tui.widgets.model.ops import OpsTab
from tui.widgets.model.overview import OverviewTab
from tui.widgets.model.signatures import SignaturesTab
from tui.widgets.model.variables import VariablesTab

TABS = ("overview", "signatures", "layers", "variables", "ops", "devices", "inference")
FOCUS = {"layers": "#layer-table", "variables": "#variable-table", "ops": "#op-table", "inference": "#signature-select"}
"""What gets the focus when a tab is shown, so its keys (arrows, s, enter) work at once."""
OUTPUTS = "tfscope-outputs"


class ModelScreen(ModelLoading):
    """One artifact; `escape` goes back to the browser where it was, keeping what is loaded."""

    _risk_accepted = False
    """The user agreed to run this graph despite its flagged ops (asked once per model)."""
    _asset_labels: tuple[str, ...] | None = None
    """Class names from a SavedModel's label-like asset, read on the first run (None: not read yet)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="model-back", tooltip="Back to the browser (a loaded model stays loaded)"),
        Binding("l", "load", "Load", id="model-load", tooltip="Load with TensorFlow (downloads through the cache)"),
        Binding("ctrl+r", "run", "Run", id="model-run", tooltip="Run the chosen signature (Inference tab)"),
        Binding("question_mark", "help", "Help", id="model-help", tooltip="Show every key"),
        Binding("q", "app.quit", "Quit", id="model-quit", tooltip="Leave tfscope"),
        Binding("c", "cancel_load", "Cancel", show=False, id="model-cancel", tooltip="Stop a download or load"),
        Binding("ctrl+s", "run_and_save", "Run & save", show=False, id="model-save",
                tooltip="Run, and save every output as .npy in ./tfscope-outputs/"),
        Binding("1", "show_tab('overview')", "Overview", show=False, id="tab-1", tooltip="Format, size, versions"),
        Binding("2", "show_tab('signatures')", "Signatures", show=False, id="tab-2", tooltip="Inputs and outputs"),
        Binding("3", "show_tab('layers')", "Layers", show=False, id="tab-3", tooltip="Keras-style summary"),
        Binding("4", "show_tab('variables')", "Variables", show=False, id="tab-4", tooltip="Weights, biggest first"),
        Binding("5", "show_tab('ops')", "Ops", show=False, id="tab-5", tooltip="Op types, risky ones flagged"),
        Binding("6", "show_tab('devices')", "Devices", show=False, id="tab-6", tooltip="Devices, where weights live"),
        Binding("7", "show_tab('inference')", "Inference", show=False, id="tab-7", tooltip="Run the model"),
        Binding("y", "copy_uri", "Copy URI", show=False, id="model-copy",
                tooltip="Copy the model's URI (OSC 52, works over SSH)"),
        Binding("m", "mark", "Mark", show=False, id="model-mark", tooltip="Mark this model to compare with D"),
        Binding("D", "diff", "Diff", show=False, id="model-diff", tooltip="Compare the marked model with this one"),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Reading ", "dim"), (printable(self.location.uri), "bold")), id="model-title")
        stable = self.stable_display
        with TabbedContent(id="model-tabs", initial="overview"):
            with TabPane("1 Overview", id="overview"):
                yield OverviewTab(stable_display=stable).data_bind(ModelScreenState.info, ModelScreenState.error)
            with TabPane("2 Signatures", id="signatures"):
                yield SignaturesTab().data_bind(ModelScreenState.info)
            with TabPane("3 Layers", id="layers"):
                yield LayersTab().data_bind(ModelScreenState.info)
            with TabPane("4 Variables", id="variables"):
                yield VariablesTab().data_bind(ModelScreenState.info)
            with TabPane("5 Ops", id="ops"):
                yield OpsTab().data_bind(ModelScreenState.info)
            with TabPane("6 Devices", id="devices"):
                yield DevicesTab().data_bind(ModelScreenState.devices, ModelScreenState.placement)
            with TabPane("7 Inference", id="inference"):
                state = ModelScreenState
                yield InferenceTab(stable_display=stable, id="inference-tab").data_bind(
                    state.loaded, state.devices, state.result, state.run_error, state.info
                )
        yield LoadStatus(id="load-status").data_bind(state=ModelScreenState.load_state)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._inspect()
        runtime = self.services.runtime
        held = runtime.held
        if held is not None and held[0] == self.location.uri:
            self.loaded = held[1]  # the runtime still holds this model: it is loaded, nothing to wait for
            self.load_state = LoadState("loaded", note="kept from before")
            self._refresh_devices()
        elif self.services.settings.prewarm:
            runtime.prewarm()  # TensorFlow's import (seconds) happens while the user reads the tabs

    def on_unmount(self) -> None:
        if self.load_state.busy:
            self.services.runtime.cancel()  # a load in flight for a screen that is gone

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become UI."""
        group = event.worker.group
        if group == "load" and event.worker is not self._load_worker:
            return  # a load replaced or cancelled since: its end is not news
        if event.state is WorkerState.CANCELLED and group == "load" and self.load_state.busy:
            self._stopped("Load cancelled")
            return
        if event.state is not WorkerState.ERROR:
            return
        error = TfscopeError.wrap(event.worker.error)
        if group == "load":
            if isinstance(error, CANCELLED):
                self._stopped("Load cancelled")
                return
            self._load_worker = None
            self.load_state = LoadState("failed", note=f"{error.title}: {error.detail}")
            self.run_error = error
            self.notify(error.detail, title=error.title, severity="error", timeout=10, markup=False)
        elif group == "run":
            self.run_error = error
            if error.title == "No model loaded":  # the runtime restarted under us (a crash)
                self.loaded = self.devices = self.placement = None
                self.load_state = LoadState(note="The runtime restarted")
        elif group == "inspect" and not isinstance(error, InspectionCancelled):
            self.error = error
            unreadable = Text.assemble(("Unreadable  ", "bold red"), printable(self.location.uri))
            self.query_one("#model-title", Static).update(unreadable)
            self.notify(error.detail, title=error.title, severity="error", timeout=8, markup=False)

    # -- running ----------------------------------------------------------------------------

    def action_run(self, save: bool = False) -> None:
        if self.loaded is None or self.info is None:
            self.notify("Load the model first: press l.", timeout=4)
            return
        if self.tabs.active != "inference":  # from another tab: show where the result will be
            self.show_tab("inference")
        try:
            request = self.query_one(InferenceTab).form.request()
        except ValueError as error:
            self.run_error = TfscopeError(str(error), "Correct it in the form, then run again.", title="Bad input")
            return
        request = self._with_media_settings(request)
        flagged = flagged_ops(self.info.ops) if self.info.kind is ArtifactKind.SAVED_MODEL else {}
        if flagged and not self._risk_accepted:
            listed = ", ".join(f"{op} ({why})" for op, why in flagged.items())

            def answered(yes: bool | None) -> None:
                if yes:
                    self._risk_accepted = True
                    self._start_run(request, save)

            self.app.push_screen(ConfirmScreen("Run a graph that touches files or calls Python?", listed), answered)
            return
        self._start_run(request, save)

    def _with_media_settings(self, request: RunRequest) -> RunRequest:
        """Pictures normalized and clips resampled as the model's metadata says (else 0..1, with a notice)."""
        from dataclasses import replace

        from tui.runtime.media import with_media_settings

        signature = (
            next((s for s in self.loaded.signatures if s.name == request.signature), None) if self.loaded else None
        )
        known = {i.name: i.dtype for i in signature.inputs} if signature else {}
        inputs, notes = with_media_settings(self.info.card if self.info else None, request.inputs, None, known)
        for note in notes:
            self.notify(note + ".", timeout=6, markup=False)
        return replace(request, inputs=inputs)

    def _start_run(self, request: RunRequest, save: bool) -> None:
        if save:
            try:
                folder = new_output_folder(Path.cwd() / OUTPUTS, self.location.name.rstrip("/"), request.signature)
                request = RunRequest(request.signature, request.inputs, request.device, request.repeat, str(folder))
            except OSError as exc:
                self.run_error = TfscopeError(
                    f"Cannot make a folder for the outputs: {exc.strerror}.",
                    "Run tfscope from a folder you can write to.",
                    title="Not saved",
                )
                return
        self._run(request)

    def action_run_and_save(self) -> None:
        self.action_run(save=True)

    @on(InferenceTab.RunPressed)
    def run_pressed(self, message: InferenceTab.RunPressed) -> None:
        self.action_run(save=message.save)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run", description="run inference")
    def _run(self, request: RunRequest) -> None:
        runtime = self.services.runtime
        if self.info is not None and self._asset_labels is None:  # once: a SavedModel's assets/labels.txt
            try:
                self._asset_labels = read_label_asset(self.services.stores.for_location(self.location), self.info)
            except TfscopeError:
                self._asset_labels = ()  # no names, still a run
        try:
            result = runtime.run(request)
        except TfscopeError:
            if request.save_dir:  # nothing was written: no empty folder left behind
                with contextlib.suppress(OSError):
                    Path(request.save_dir).rmdir()
            raise
        placement = runtime.placement()
        if not get_current_worker().is_cancelled:
            self.post_message(InferenceFinished(result, placement))

    @on(InferenceFinished)
    def inference_finished(self, message: InferenceFinished) -> None:
        self.query_one(InferenceTab).asset_labels = self._asset_labels or ()
        self.result, self.placement, self.run_error = message.result, message.placement, None
        if message.result.saved:
            folder = Path(message.result.saved[0]).parent
            shown = folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder
            self.notify(f"Saved {len(message.result.saved)} output(s) in ./{shown}/", title="Saved", timeout=8,
                        markup=False)  # fmt: skip

    # -- tabs and keys ----------------------------------------------------------------------

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    def action_show_tab(self, tab: str) -> None:
        self.show_tab(tab)

    def show_tab(self, tab: str) -> None:
        self.tabs.active = tab
        target = FOCUS.get(tab)
        if target:
            for widget in self.query(target):
                if widget.display:
                    widget.focus()
                    return
        self.tabs.query_one("Tabs").focus()  # the tab bar: arrows switch tabs, tab walks into the tab

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, Input | Select):  # leave the field first, as in the filter box; escape again leaves
            self.tabs.query_one("Tabs").focus()
            return
        self.app.pop_screen()

    def action_copy_uri(self) -> None:
        self.app.copy_to_clipboard(self.location.uri)
        self.notify(f"Copied {printable(self.location.uri)}", timeout=3, markup=False)

    def action_mark(self) -> None:
        self.post_message(ModelMarked(self.location))

    def action_diff(self) -> None:
        self.post_message(DiffRequested(self.location))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(binding_rows(self)))
