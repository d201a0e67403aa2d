"""The line above the footer: where a load stands, with a progress bar while it moves."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import ProgressBar, Static

from tui.formatting import format_size

PHASES = {
    "download": "Downloading",
    "wait for another tfscope's download": "Waiting for another tfscope downloading this model",
    "verify": "Checking the cached copy",
    "import TensorFlow": "Starting TensorFlow",
    "restore": "Restoring",
}
"""The load's phases as the cache, the session and the runtime child name them, and as shown."""


@dataclass(frozen=True)
class LoadState:
    """Where loading the model stands.

    `phase` is "not loaded", "loaded", "failed", or one of PHASES while it moves.
    """

    phase: str = "not loaded"
    done_bytes: int = 0
    total_bytes: int = 0
    rate: float = 0.0
    eta: float | None = None
    files: str = ""
    note: str = ""
    """After the fact: what the load did ("downloaded 30 MB") or why it stopped."""

    @property
    def busy(self) -> bool:
        return self.phase in PHASES

    @property
    def loaded(self) -> bool:
        return self.phase == "loaded"


class LoadStatus(Horizontal):
    state: reactive[LoadState] = reactive(LoadState())
    """What to show."""

    def compose(self) -> ComposeResult:
        yield Static(id="load-text")
        yield ProgressBar(id="load-bar", show_eta=False, show_percentage=True)

    def on_mount(self) -> None:
        self.watch_state(self.state)

    def watch_state(self, state: LoadState) -> None:
        if not self.is_mounted:
            return
        bar = self.query_one(ProgressBar)
        bar.display = state.busy
        if state.phase == "download" and state.total_bytes:
            bar.update(total=state.total_bytes, progress=state.done_bytes)
        elif state.busy:
            bar.update(total=None)
        self.query_one("#load-text", Static).update(describe(state))


def describe(state: LoadState) -> Text:
    """One line for the state: the phase, bytes, rate and time left, and what a key does now."""
    if state.phase == "loaded":
        return Text(f"Loaded{f' ({state.note})' if state.note else ''}. 6: devices, 7: run it.", style="green")
    if state.phase == "failed":
        return Text(f"Not loaded: {state.note}  (l tries again)", style="bold red")
    if state.phase == "not loaded":
        note = f"{state.note}. " if state.note else ""
        return Text(f"{note}Not loaded: l loads it with TensorFlow, in a separate process.", style="dim")
    text = PHASES[state.phase]
    if state.phase == "download" and state.total_bytes:
        # The rate (and the time left) says little until a few percent have arrived.
        settled = state.done_bytes >= state.total_bytes * 0.02 and state.rate > 0
        eta = f" · {state.eta:.0f} s left" if settled and state.eta is not None else ""
        rate = f" · {format_size(int(state.rate))}/s" if settled else ""
        text += f" {format_size(state.done_bytes)} of {format_size(state.total_bytes)}{rate}{eta} · {state.files}"
    return Text.assemble((text + "…", "bold"), ("  c cancels", "dim"))
