"""Write SVG screenshots of the browser on the demo bucket (what `make screenshots` runs).

Deterministic: the demo models are seeded, the app hides clocks, generations and checksums, and
the terminal size is fixed, so a rerun rewrites identical files.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pilot import settle, wait_for  # noqa: E402

from tui.app import TfscopeApp  # noqa: E402
from tui.demo import DEMO_BUCKET, demo_data_dir, ensure_demo_data  # noqa: E402
from tui.screens.diff import DiffScreen  # noqa: E402
from tui.screens.model import ModelScreen  # noqa: E402
from tui.settings import Settings  # noqa: E402
from tui.storage import GcsStore, Stores  # noqa: E402
from tui.storage.emulator import Emulator, offline_env  # noqa: E402

SIZE = (150, 36)
LOAD = "load"
"""A step that presses l and waits for the model to load."""
DIFF = "diff"
"""A step that waits for the model screen to read its model, presses D and waits for the diff."""
SHOTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("browser.svg", f"gs://{DEMO_BUCKET}/", ()),
    ("savedmodel-folder.svg", f"gs://{DEMO_BUCKET}/serving/mobilenet_v2/", ()),
    ("models-filtered.svg", f"gs://{DEMO_BUCKET}/models/image/", ("slash", "k", "e", "r")),
    ("help.svg", f"gs://{DEMO_BUCKET}/", ("question_mark",)),
    ("model-overview.svg", f"gs://{DEMO_BUCKET}/models/image/mobilenet_v2.keras", ("1",)),
    ("model-signatures.svg", f"gs://{DEMO_BUCKET}/models/text/classifier/", ("2",)),
    ("model-layers.svg", f"gs://{DEMO_BUCKET}/models/image/mobilenet_v2.h5", ("3",)),
    ("model-inference.svg", f"gs://{DEMO_BUCKET}/serving/mobilenet_v2/1/", (LOAD, "7", "ctrl+r")),
    # m on the SavedModel, g to its TFLite conversion, D there: what the conversion changed
    ("diff.svg", f"gs://{DEMO_BUCKET}/serving/mobilenet_v2/",
     ("m", "g", "ctrl+u", *f"gs://{DEMO_BUCKET}/models/mobile/mobilenet_v2.tflite", "enter", DIFF, "2")),
]  # fmt: skip


async def shoot(out: Path, name: str, start: str, keys: tuple[str, ...]) -> None:
    app = TfscopeApp(Stores(GcsStore()), Settings(start=start, stable_display=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await settle(pilot)
        if isinstance(app.screen, ModelScreen):
            screen = app.screen
            await wait_for(pilot, lambda: screen.inspected)
        model = app.screen if isinstance(app.screen, ModelScreen) else None
        for key in keys:
            if key == DIFF:
                await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
                await pilot.press("D")
                await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff is not None)
            elif key == LOAD and model is not None:
                await pilot.press("l")
                await wait_for(pilot, lambda: model.load_state.phase in {"loaded", "failed"}, 300)
            else:
                await pilot.press(key)
            await settle(pilot)
            if key == "ctrl+r" and model is not None:
                await wait_for(pilot, lambda: model.result is not None or model.run_error is not None, 300)
                await settle(pilot)
        (out / name).write_text(app.export_screenshot(title=f"tfscope {start}"), encoding="utf-8")


def main(out: Path) -> int:
    os.environ.update(offline_env())
    os.environ["TEXTUAL_ANIMATIONS"] = "none"  # no tab underline caught mid-slide
    out.mkdir(parents=True, exist_ok=True)
    with Emulator(ensure_demo_data(demo_data_dir())) as emulator:
        os.environ.update(emulator.environ())
        for name, start, keys in SHOTS:
            asyncio.run(shoot(out, name, start, keys))
            print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
