"""Loading the model with TensorFlow: the load's phases, its cancel, and what the runtime already holds."""

from __future__ import annotations

import time

from textual import on, work
from textual.worker import get_current_worker

from tui.formats.limits import InspectionCancelled
from tui.formatting import format_size
from tui.messages import LoadProgressed, ModelLoaded
from tui.runtime.host import RuntimeCancelledError
from tui.runtime.session import load_model
from tui.screens.confirm import ConfirmScreen
from tui.screens.model_state import ModelScreenState
from tui.storage.cache import DownloadCancelled, Progress
from tui.widgets.model.load_status import LoadState
from tui.widgets.model.overview import WARNING_SIGN, finding_cells

CANCELLED = (DownloadCancelled, RuntimeCancelledError, InspectionCancelled)
"""What a cancelled load raises: not a failure."""


class ModelLoading(ModelScreenState):
    """`l` loads (after asking, where the model needs consent), `c` cancels in any phase."""

    def action_load(self) -> None:
        if self.info is None:
            self.notify("Still reading the model's metadata: a moment.", timeout=3)
            return
        if self.load_state.busy:
            self.notify("Already loading: c cancels.", timeout=3)
            return
        if self.load_state.loaded:
            self.notify("Already loaded: 7 runs it, 6 shows where it lives.", timeout=3)
            return
        risks = "; ".join(n.detail for n in self.info.needs_consent)
        if risks:
            if not self.services.settings.unsafe:
                self.notify(SAFE_MODE_NOTICE.format(risks=risks), title="Safe mode", severity="warning", markup=False)
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self._ask_about_findings()

            self.app.push_screen(ConfirmScreen("Load with safe mode off?", UNSAFE_RISK.format(risks=risks)), answered)
            return
        self._ask_about_findings()

    def _ask_about_findings(self) -> None:
        """A graph that reads, writes or lists files, reaches the network or runs Python loads after a yes."""
        assert self.info is not None
        gated = [f for f in self.info.findings if f.gated]
        if not gated or self.services.settings.allow_findings:
            self._start_load()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_load()

        # Two short lines each: a narrow dialog wraps them where a column layout would break apart.
        rows = (finding_cells(f) for f in gated)
        listing = "\n".join(
            f"{WARNING_SIGN} {name} {what} {target}\n    {when}" for name, what, target, when, _ in rows
        )
        question = FINDINGS_RISK.format(listing=listing)
        self.app.push_screen(ConfirmScreen("Load a model that acts on this machine?", question), answered)

    def _start_load(self) -> None:
        runtime = self.services.runtime
        first = "download" if self.location.is_gcs else "import TensorFlow" if not runtime.running else "restore"
        self.load_state = LoadState(first)
        self.run_error = None
        self._load_worker = self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", description="load the model")
    def _load(self) -> None:
        assert self.info is not None
        worker = get_current_worker()
        started = time.monotonic()

        def progress(p: Progress) -> None:
            files = f"{p.done_files}/{p.total_files} files"
            state = LoadState("download", p.done_bytes, p.total_bytes, p.rate, p.eta, files)
            self.post_message(LoadProgressed(state))

        def phase(name: str) -> None:
            if name:
                self.post_message(LoadProgressed(LoadState(name)))

        runtime = self.services.runtime
        loaded = load_model(
            self.services.stores, runtime, self.services.cache, self.location, self.info.kind,
            unsafe=self.services.settings.unsafe, on_phase=phase, on_progress=progress,
            cancelled=lambda: worker.is_cancelled, needs=self.info.needs,
        )  # fmt: skip
        devices, placement = runtime.devices(), runtime.placement()
        if self.location.is_gcs:
            note = f"downloaded {format_size(loaded.downloaded_bytes)}" if loaded.downloaded_bytes else "from the cache"
        else:
            note = "in place"
        if not self.stable_display:
            note += f", {time.monotonic() - started:.1f} s"
        if loaded.skipped:
            note += f"; {len(loaded.skipped)} object(s) with names that cannot be files were left out"
        if not worker.is_cancelled:
            self.post_message(ModelLoaded(loaded.loaded, devices, placement, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="devices", description="read devices")
    def _refresh_devices(self) -> None:
        runtime = self.services.runtime
        devices, placement = runtime.devices(), runtime.placement()
        if not get_current_worker().is_cancelled and self.loaded is not None:
            self.post_message(ModelLoaded(self.loaded, devices, placement, "kept from before"))

    def action_cancel_load(self) -> None:
        if not self.load_state.busy:
            self.notify("Nothing is loading.", timeout=2)
            return
        self.workers.cancel_group(self, "load")
        self.services.runtime.cancel()
        self._stopped("Load cancelled")

    def _stopped(self, note: str) -> None:
        """Back to "not loaded" after a cancel, with the runtime warming again for the next l."""
        self._load_worker = None
        self.load_state = LoadState(note=note)
        self.loaded = self.devices = self.placement = None
        self.notify(f"{note}: l loads it again.", timeout=4)
        if self.services.settings.prewarm and self.is_mounted:
            self.services.runtime.prewarm()

    @on(LoadProgressed)
    def load_progressed(self, message: LoadProgressed) -> None:
        if self.load_state.busy:  # a late phase of a load already cancelled is not news
            self.load_state = message.state

    @on(ModelLoaded)
    def model_loaded(self, message: ModelLoaded) -> None:
        self._load_worker = None
        self.loaded, self.devices, self.placement = message.loaded, message.devices, message.placement
        self.load_state = LoadState("loaded", note=message.note)


SAFE_MODE_NOTICE = (
    "Loading this model needs {risks}, which safe mode refuses. Restart tfscope with --unsafe to load it, "
    "only if you trust who saved it."
)
UNSAFE_RISK = "Loading it means {risks}: only for models from people you trust."
FINDINGS_RISK = (
    "Its graph can do this on this machine, in tfscope's TensorFlow process:\n{listing}\n\n"
    "Load it only if you trust who saved it."
)
