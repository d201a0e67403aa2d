"""The model screen's state and its reading: what the readers found, as reactives the tabs bind to.

The screen is three classes in a line, each a part of it: this one (state, reading the metadata),
model_loading.ModelLoading (loading with TensorFlow), model.ModelScreen (the tabs, the keys, the runs).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from tui.errors import TfscopeError
from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.formatting import format_size, printable
from tui.messages import ModelInspected
from tui.runtime.protocol import Devices, Loaded, Placement, RunResult
from tui.services import Services
from tui.storage import Location
from tui.widgets.model.load_status import LoadState


class ModelScreenState(Screen[None]):
    """One artifact's state, shared by the tabs (data_bind) and the workers that change it."""

    info: reactive[ModelInfo | None] = reactive(None)
    """What the readers found (a partial read first for .keras/.h5), None while reading."""
    error: reactive[TfscopeError | None] = reactive(None)
    """Why reading failed, if it did."""
    load_state: reactive[LoadState] = reactive(LoadState())
    """Where loading stands: not loaded, a phase of the load, loaded, or failed."""
    loaded: reactive[Loaded | None] = reactive(None)
    """What the runtime restored (its signatures), while it holds this model."""
    devices: reactive[Devices | None] = reactive(None)
    """The runtime's devices, once loaded."""
    placement: reactive[Placement | None] = reactive(None)
    """Where the loaded model's variables live, and where the last inference ran."""
    result: reactive[RunResult | None] = reactive(None)
    """The last inference."""
    run_error: reactive[TfscopeError | None] = reactive(None)
    """Why the last run could not run, until the next one does."""

    def __init__(self, services: Services, location: Location) -> None:
        super().__init__()
        self.services = services
        self.location = location
        self.stable_display = services.settings.stable_display
        self._load_worker: Worker[None] | None = None
        """The load in progress: a late message from an earlier, cancelled one is ignored."""

    def on_screen_suspend(self) -> None:
        """Left for the browser: a load goes on, but a read of the metadata stops at once (a crafted file
        must not keep a core busy for a screen nobody looks at); it starts again on return."""
        if not self.inspected:
            self.workers.cancel_group(self, "inspect")

    def on_screen_resume(self) -> None:
        if not self.inspected and not any(w.group == "inspect" and not w.is_finished for w in self.workers):
            self._inspect()

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
        # Leaving the screen cancels this worker, and the read stops at its next step.
        store = self.services.stores.for_location(self.location)
        show(inspect_model(store, self.location, on_partial=show, cancelled=lambda: worker.is_cancelled))

    @on(ModelInspected)
    def model_inspected(self, message: ModelInspected) -> None:
        self.info = info = message.info
        title = Text.assemble((info.kind.label, "bold magenta"), "  ", (printable(info.uri), "bold"))
        params = "reading parameters…" if info.partial else f"{info.total_params:,} params"
        title.append(f"  {params} · {format_size(info.size)}", style="dim")
        self.query_one("#model-title", Static).update(title)
