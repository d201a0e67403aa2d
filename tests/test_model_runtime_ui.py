"""Pilot tests of load, devices and inference on the model screen (TensorFlow runs in the child)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ZOO_BUCKET
from fault_proxy import FaultProxy, Rule, media
from pilot import make_test_app, notices, settle, wait_for
from textual.widgets import Input

from tui.messages import LoadProgressed, ModelLoaded
from tui.runtime.protocol import DEVICE_LISTING_ENV
from tui.screens.model import ModelScreen
from tui.widgets.model.inference import InferenceTab
from tui.widgets.model.load_status import describe

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


async def opened(pilot) -> ModelScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
    return app.screen


async def load(pilot) -> ModelScreen:  # type: ignore[no-untyped-def]
    screen = await opened(pilot)
    await pilot.press("l")
    await wait_for(pilot, lambda: screen.load_state.phase in {"loaded", "failed"}, 180)
    assert screen.load_state.loaded, screen.load_state.note
    return screen


async def test_load_see_devices_run_save_and_come_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Escape keeps the model loaded; opening it again finds it loaded at once; ctrl+s says where it saved
    and never overwrites."""
    monkeypatch.chdir(tmp_path)
    seen: list[object] = []
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/exported/")
    async with app.run_test(size=(150, 45), message_hook=seen.append) as pilot:
        screen = await load(pilot)
        await pilot.press("6")
        assert [d.name for d in screen.devices.logical] == ["/device:CPU:0"]
        assert set(screen.placement.totals) == {"CPU:0"}
        await pilot.press("7")
        screen.query_one("#value-0", Input).value = "ones"
        for _ in range(2):  # run, saving outputs: twice, into two folders
            screen.result = None
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.result is not None, 120)
        folders = sorted((tmp_path / "tfscope-outputs").iterdir())
        assert len(folders) == 2 and all(f.name.startswith("exported-serving_default-") for f in folders)
        assert all((f / "output_0.npy").exists() for f in folders)
        assert any("Saved 1 output(s) in ./tfscope-outputs/exported-serving_default-" in n for n in notices(seen))
        output = screen.result.outputs["output_0"]
        assert output.shape == (1, 3) and output.nan == 0
        assert screen.placement.last_inference_device == "CPU:0"
        runtime = app.services.runtime
        await pilot.press("escape", "escape")  # the first leaves the value box, the second the screen
        assert app.screen is app.browser
        await settle(pilot)
        assert runtime.held is not None and runtime.held[0] == screen.location.uri
        app.browser.open_model(screen.location)
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert app.screen is screen and screen.load_state.loaded  # the same screen, still loaded


async def test_progress_shows_each_phase_and_l_twice_loads_once() -> None:
    seen: list[object] = []
    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/wide.keras", prewarm=False)
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        screen = await opened(pilot)
        await pilot.press("l", "l")
        await wait_for(pilot, lambda: screen.load_state.phase in {"loaded", "failed"}, 180)
        assert screen.load_state.loaded, screen.load_state.note
        await settle(pilot)
    phases = [m.state.phase for m in seen if isinstance(m, LoadProgressed)]
    assert {"download", "restore"} <= set(phases)
    downloading = next(m.state for m in seen if isinstance(m, LoadProgressed) and m.state.total_bytes)
    assert "Downloading" in describe(downloading).plain and "c cancels" in describe(downloading).plain
    assert len({id(m) for m in seen if isinstance(m, ModelLoaded)}) == 1  # the hook sees a message per hop
    assert any("Already loading" in n for n in notices(seen))


@pytest.mark.parametrize("phase", ["download", "import TensorFlow", "restore"])
async def test_a_cancel_in_each_phase_returns_to_not_loaded_and_l_loads(
    phase: str, zoo: Path, fault_proxy: FaultProxy
) -> None:
    uri = f"gs://{ZOO_BUCKET}/keras/wide.keras" if phase == "download" else str(zoo / "keras/wide.keras")
    app = make_test_app(uri, prewarm=False)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await opened(pilot)
        # A slower link from here on, so the download can be caught (inspecting uses none of these).
        fault_proxy.add(Rule(media, delay=0.5, uses=8))
        await pilot.press("l")
        await wait_for(pilot, lambda: screen.load_state.phase == phase, 120)
        await pilot.press("c")
        assert screen.load_state.phase == "not loaded" and screen.load_state.note == "Load cancelled"
        await settle(pilot)
        assert screen.load_state.phase == "not loaded"  # a late end of the cancelled load changes nothing
        await pilot.press("l")
        await wait_for(pilot, lambda: screen.load_state.phase in {"loaded", "failed"}, 180)
        assert screen.load_state.loaded, screen.load_state.note


async def test_tab_walks_the_inference_form_and_keys_work_from_it() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/multi/")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await load(pilot)
        await pilot.press("7")
        seen = [screen.focused.id if screen.focused else None]
        for _ in range(8):
            await pilot.press("tab")
            seen.append(screen.focused.id if screen.focused else None)
        assert seen[:7] == [
            "signature-select",
            "device-select",
            "repeat-input",
            "value-0",
            "shape-0",
            "run",
            "run-save",
        ]
        await pilot.press("shift+tab")
        assert (screen.focused.id if screen.focused else None) == seen[-2]
        screen.query_one("#value-0", Input).focus()
        await pilot.press("3")  # typed into the field, not a tab switch
        assert screen.tabs.active == "inference"
        await pilot.press("escape", "3")  # escape leaves the field; then 3 switches
        assert screen.tabs.active == "layers"


async def test_a_non_ascii_string_input_runs(zoo: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    text = "héllo wörld 日本語"
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/multi/")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await load(pilot)
        await pilot.press("7")
        form = screen.query_one(InferenceTab).form
        form.selected = "classify_text"
        await settle(pilot)
        screen.query_one("#value-0", Input).value = text
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.result is not None or screen.run_error is not None, 60)
        assert screen.run_error is None, screen.run_error.one_line()
        logits = screen.result.outputs["logits"]
    expected = tf.saved_model.load(str(zoo / "saved/multi")).signatures["classify_text"](text=tf.constant([text]))
    assert list(logits.preview) == pytest.approx(expected["logits"].numpy().reshape(-1).tolist(), rel=1e-5)


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
        assert screen.result is None


async def test_q_quits_from_the_model_screen() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras", prewarm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


@pytest.mark.parametrize("size", [(80, 24), (130, 32)], ids=["80x24", "130x32"])
def test_devices_tab_renders_an_injected_gpu(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                             size: tuple[int, int]) -> None:  # fmt: skip
    (tmp_path / "gpu.json").write_text(json.dumps(GPU_LISTING))
    monkeypatch.setenv(DEVICE_LISTING_ENV, str(tmp_path / "gpu.json"))

    async def loaded_devices(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: pilot.app.browser.listing_done)
        await load(pilot)
        await pilot.press("6")
        await settle(pilot)

    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    assert snap_compare(app, terminal_size=size, run_before=loaded_devices)


@pytest.mark.parametrize("size", [(80, 24), (130, 36)], ids=["80x24", "130x36"])
def test_inference_tab(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def ran(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: pilot.app.browser.listing_done)
        screen = await load(pilot)
        await pilot.press("7")
        screen.query_one("#value-0", Input).value = "ones"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.result is not None, 120)
        screen.query_one("#value-0", Input).focus()
        await settle(pilot)

    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    assert snap_compare(app, terminal_size=size, run_before=ran)


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

    seen: list[object] = []
    app = make_test_app(str(lambda_model), prewarm=False)
    async with app.run_test(size=(150, 45), message_hook=seen.append) as pilot:
        screen = await opened(pilot)
        assert any("Lambda layer double" in need.detail and need.needs_consent for need in screen.info.needs)
        await pilot.press("l")  # refused without --unsafe: a notice, nothing loads
        await settle(pilot)
        assert screen.load_state.phase == "not loaded"
        assert any("--unsafe" in n for n in notices(seen))

    app = make_test_app(str(lambda_model), unsafe=True)
    async with app.run_test(size=(150, 45)) as pilot:
        screen = await opened(pilot)
        await pilot.press("l")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing loads
        assert app.screen is screen and screen.load_state.phase == "not loaded"
        await pilot.press("l", "y")
        await wait_for(pilot, lambda: screen.load_state.phase in {"loaded", "failed"}, 180)
        assert screen.load_state.loaded, screen.load_state.note
