"""Tab 6: TensorFlow's devices, where the loaded model's weights live, where the last inference ran."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.formatting import format_size
from tui.runtime.protocol import Devices, Placement

NOT_LOADED = Text("Not loaded yet: press l to load the model with TensorFlow (in a separate process).", style="dim")


class DevicesTab(VerticalScroll):
    devices: reactive[Devices | None] = reactive(None)
    """The runtime's device listing, once a model is loaded."""
    placement: reactive[Placement | None] = reactive(None)
    """Where the loaded model's variables live; None when nothing is loaded."""

    def compose(self) -> ComposeResult:
        yield Static(NOT_LOADED, classes="tab-body")

    def on_mount(self) -> None:
        self._show()

    def watch_devices(self) -> None:
        self._show()

    def watch_placement(self) -> None:
        self._show()

    def _show(self) -> None:
        if self.is_mounted:
            body = NOT_LOADED if self.devices is None else devices_view(self.devices, self.placement or Placement())
            self.query_one(Static).update(body)


def devices_view(devices: Devices, placement: Placement) -> RenderableType:
    table = Table("Kind", "Type", "Name", "Details", title="Devices", title_justify="left", show_edge=False)
    for kind, listed in (("physical", devices.physical), ("logical", devices.logical)):
        for d in listed:
            details = [d.model] if d.model else []
            if d.compute_capability:
                details.append(f"compute {d.compute_capability}")
            for value, label in ((d.memory_total, "total"), (d.memory_in_use, "in use"), (d.memory_peak, "peak")):
                if value is not None:
                    details.append(f"{label} {format_size(value)}")
            table.add_row(kind, d.type, d.name, ", ".join(details))
    tpu = devices.tpu
    tpu_line = Text(
        f"TPU: {tpu}" if tpu else "TPU: none found (Cloud TPU VMs and Colab TPUs are detected)", style="dim"
    )
    totals = Table("Device", "Variables", "Bytes", title="Where the model's weights live", title_justify="left",
                   show_edge=False)  # fmt: skip
    for device, nbytes in placement.totals.items():
        totals.add_row(device, str(placement.count_on(device)), format_size(nbytes))
    last = placement.last_inference_device or "no inference yet"
    return Group(table, tpu_line, Text(""), totals, Text(f"Last inference ran on: {last}"))
