"""The inference form on its own: filled from a `Loaded` as the runtime reports one, no TensorFlow needed."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Select

from tui.runtime.protocol import InputSpec, Loaded, RuntimeSignature
from tui.widgets.model.inference import InferenceTab

TWO_SIGNATURES = Loaded(
    "saved_model",
    (
        RuntimeSignature("serving_default", (InputSpec("features", "float32", (None, 16)),)),
        RuntimeSignature("classify_text", (InputSpec("text", "string", (None,)), InputSpec("k", "int32", ()))),
    ),
)


class FormApp(App[None]):
    def compose(self) -> ComposeResult:
        yield InferenceTab(id="inference-tab")


@pytest.mark.parametrize("ticks", range(10))
async def test_the_form_can_go_away_while_it_fills(ticks: int) -> None:
    """Quitting (or leaving) just as a load ends removes the form while it builds its fields: no
    widget of it may be caught mid-mount (a rebuilt Select raised NoMatches from its own mount)."""
    app = FormApp()
    async with app.run_test() as pilot:
        tab = app.query_one(InferenceTab)
        tab.loaded = TWO_SIGNATURES
        await pilot.pause()
        tab.loaded = None
        await pilot.pause()
        tab.loaded = TWO_SIGNATURES
        for _ in range(ticks):
            await asyncio.sleep(0)
        await tab.remove()


async def test_switching_signatures_rebuilds_the_inputs_and_keeps_what_was_typed() -> None:
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        tab = app.query_one(InferenceTab)
        assert app.query_one("#form-note").display  # nothing loaded: a hint, no fields
        assert not any(part.display for part in app.query(".form-field"))
        tab.loaded = TWO_SIGNATURES
        await pilot.pause()
        select = app.query_one("#signature-select", Select)
        assert not app.query_one("#form-note").display and select.value == "serving_default"
        app.query_one("#value-0", Input).value = "ones"
        select.value = "classify_text"
        await pilot.pause()
        assert tab.form.selected == "classify_text"
        assert app.query_one("#value-0", Input).value == "a fine day"  # a string input's own default
        assert app.query_one("#shape-1", Input).value == ""  # a scalar
        select.value = "serving_default"
        await pilot.pause()
        assert app.query_one("#value-0", Input).value == "ones"
        assert app.query_one("#signature-select", Select) is select  # refilled, never rebuilt
        assert tab.form.request().inputs["features"].shape == (1, 16)
