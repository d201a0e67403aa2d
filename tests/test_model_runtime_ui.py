"""Pilot tests of load, devices and inference on the model screen (TensorFlow runs in the child)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ZOO_BUCKET
from pilot import make_test_app, settle, wait_for
from textual.widgets import Input

from tui.runtime.host import DEVICE_LISTING_ENV
from tui.screens.model import ModelScreen

pytestmark = pytest.mark.usefixtures("emulator")

GPU_LISTING = {
    "physical": [
        {"name": "/physical_device:CPU:0", "type": "CPU"},
        {
            "name": "/physical_device:GPU:0",
            "type": "GPU",
            "model": "NVIDIA H100 80GB HBM3",
            "compute_capability": "9.0",
        },
    ],
    "logical": [
        {"name": "/device:CPU:0", "type": "CPU"},
        {"name": "/device:GPU:0", "type": "GPU", "memory_in_use": 14155936, "memory_peak": 30000000},
    ],
    "tpu": None,
}


async def load(pilot) -> ModelScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
    screen = app.screen
    await pilot.press("l")
    await wait_for(pilot, lambda: screen.loaded or screen.run_error is not None, 180)
    assert screen.loaded, screen.run_error
    return screen


async def test_load_see_devices_run_and_leave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/exported/")
    async with app.run_test(size=(150, 45)) as pilot:
        screen = await load(pilot)
        await pilot.press("6")
        assert [d["name"] for d in screen.devices["logical"]] == ["/device:CPU:0"]
        assert set(screen.placement["totals"]) == {"CPU:0"}
        await pilot.press("7")
        value = screen.query_one("#value-0", Input)
        value.value = "ones"
        await pilot.press("ctrl+s")  # run, saving outputs
        await wait_for(pilot, lambda: screen.last_run is not None, 120)
        output = screen.last_run["outputs"]["output_0"]
        assert output["shape"] == [1, 3] and output["nan"] == 0
        assert (tmp_path / "tfscope-outputs" / "output_0.npy").exists()
        assert screen.placement["last_inference_device"] == "CPU:0"
        runtime = app.services.runtime
        await pilot.press("escape")  # leaving the model unloads it; the runtime stays for the next one
        await settle(pilot)
        assert runtime.running
        assert runtime.request("placement", doing="test")["variables"] == []


async def test_a_bad_input_is_named_and_nothing_runs() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/exported/")
    async with app.run_test(size=(150, 45)) as pilot:
        screen = await load(pilot)
        await pilot.press("7")
        screen.query_one("#value-0", Input).value = "[1, 2, 3]"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.run_error is not None, 60)
        assert screen.run_error.title == "Bad input"
        assert "input 'features' expects shape (None, 16), got (3,)" in screen.run_error.detail
        assert screen.last_run is None


def test_devices_tab_renders_an_injected_gpu(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "gpu.json").write_text(json.dumps(GPU_LISTING))
    monkeypatch.setenv(DEVICE_LISTING_ENV, str(tmp_path / "gpu.json"))

    async def loaded_devices(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: pilot.app.browser.listing_done)
        await load(pilot)
        await pilot.press("6")
        await settle(pilot)

    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    assert snap_compare(app, terminal_size=(130, 32), run_before=loaded_devices)


def test_inference_tab(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def ran(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: pilot.app.browser.listing_done)
        screen = await load(pilot)
        await pilot.press("7")
        screen.query_one("#value-0", Input).value = "ones"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.last_run is not None, 120)
        await settle(pilot)

    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    assert snap_compare(app, terminal_size=(130, 36), run_before=ran)


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keras = pytest.importorskip("keras")
    inputs = keras.Input((3,), name="x")
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))
    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    model.save(path)
    return path


async def test_lambda_model_needs_unsafe_and_a_yes(lambda_model: Path) -> None:
    from tui.screens.confirm import ConfirmScreen

    app = make_test_app(str(lambda_model))
    async with app.run_test(size=(150, 45)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
        screen = app.screen
        assert any("Lambda layer double" in need.detail and need.needs_consent for need in screen.info.needs)
        await pilot.press("l")  # refused without --unsafe: a notice, nothing loads
        await settle(pilot)
        assert not screen.loading and not screen.loaded
        assert any("--unsafe" in n.message for n in app._notifications)

    app = make_test_app(str(lambda_model), unsafe=True)
    async with app.run_test(size=(150, 45)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
        screen = app.screen
        await pilot.press("l")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing loads
        assert app.screen is screen and not screen.loading
        await pilot.press("l", "y")
        await wait_for(pilot, lambda: screen.loaded or screen.run_error is not None, 180)
        assert screen.loaded, screen.run_error
