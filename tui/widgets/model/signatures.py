"""Tab 2: each signature's method, inputs and outputs."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.formats.model_info import ModelInfo
from tui.formatting import format_shape


class SignaturesTab(VerticalScroll):
    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="tab-body")

    def watch_info(self, info: ModelInfo | None) -> None:
        if self.is_mounted and info is not None:
            self.query_one(Static).update(signatures_view(info))

    def on_mount(self) -> None:
        self.watch_info(self.info)


def signatures_view(info: ModelInfo) -> RenderableType:
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
