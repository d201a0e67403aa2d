"""The Inference tab's form: a signature, one row per input (value source and shape), a device."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select

from tui.formatting import format_shape
from tui.runtime.inputs import source_from_text

SOURCE_HINT = "zeros | ones | random | uniform | [JSON] | file.npy | file.npz:key | text"


class InferenceForm(Vertical):
    """Built from the loaded model's signatures; `request()` reads it back as a run request."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.signatures: list[dict[str, Any]] = []
        """As the runtime reported them: name, inputs (name, dtype, shape)."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Signature ", classes="form-label")
            yield Select[str]([], id="signature-select", allow_blank=True, prompt="load the model first (l)")
            yield Label("  Device ", classes="form-label")
            yield Select[str]([], id="device-select", allow_blank=True, prompt="TensorFlow's choice")
            yield Label("  Warm runs ", classes="form-label")
            yield Input("10", id="repeat-input", type="integer", classes="short")
        yield Vertical(id="input-rows")

    def show(self, signatures: list[dict[str, Any]], devices: list[str]) -> None:
        self.signatures = signatures
        select = self.query_one("#signature-select", Select)
        select.set_options([(s["name"], s["name"]) for s in signatures])
        if signatures:
            select.value = signatures[0]["name"]
        self.query_one("#device-select", Select).set_options([(d, d) for d in devices])
        self._rebuild_rows()

    @on(Select.Changed, "#signature-select")
    def _signature_changed(self) -> None:
        self._rebuild_rows()

    def _rebuild_rows(self) -> None:
        rows = self.query_one("#input-rows", Vertical)
        rows.remove_children()
        signature = self.signature
        if signature is None:
            return
        for i, spec in enumerate(signature["inputs"]):
            shape = spec["shape"]
            shown = "?" if shape is None else format_shape(shape)
            default_shape = "1" if shape is None else ",".join("1" if d is None else str(d) for d in shape)
            rows.mount(
                Horizontal(
                    Label(f"{spec['name']}: {spec['dtype']} {shown}", classes="input-label"),
                    Input(
                        "text" if spec["dtype"] == "string" else "random",
                        placeholder=SOURCE_HINT,
                        id=f"value-{i}",
                        classes="value",
                    ),
                    Input(default_shape, placeholder="shape, e.g. 1,224,224,3", id=f"shape-{i}", classes="shape"),
                    classes="form-row",
                )  # fmt: skip
            )

    @property
    def signature(self) -> dict[str, Any] | None:
        select = self.query_one("#signature-select", Select)
        if select.is_blank():
            return None
        return next((s for s in self.signatures if s["name"] == select.value), None)

    def request(self) -> dict[str, Any]:
        """The run request: signature, inputs (value sources with shapes), device, repeat."""
        signature = self.signature
        if signature is None:
            raise ValueError("Load the model first (l), then pick a signature.")
        inputs = {}
        for i, spec in enumerate(signature["inputs"]):
            source = source_from_text(self.query_one(f"#value-{i}", Input).value)
            if spec["dtype"] == "string" and source["source"] == "text":
                source["value"] = self.query_one(f"#value-{i}", Input).value
            dims = self.query_one(f"#shape-{i}", Input).value.replace("(", "").replace(")", "")
            try:
                source["shape"] = [int(d) for d in dims.replace(" ", "").split(",") if d]
            except ValueError as exc:
                raise ValueError(f"input '{spec['name']}': the shape must be integers like 1,224,224,3") from exc
            inputs[spec["name"]] = source
        device_select = self.query_one("#device-select", Select)
        repeat = self.query_one("#repeat-input", Input).value
        return {
            "signature": signature["name"],
            "inputs": inputs,
            "device": None if device_select.is_blank() else str(device_select.value),
            "repeat": max(0, int(repeat or 0)),
        }
