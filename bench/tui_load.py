"""Row 2's TUI side: in the app (headless pilot), `l` to loaded on a model screen that has been open a while.

    python bench/tui_load.py URI CACHE_DIR [WAIT_S]

Opens the model screen on URI with the default settings (TensorFlow's process starts when the screen
opens), waits WAIT_S seconds (default 3: a user reading the tabs), presses l and prints one JSON line:
load_s, from the key to the "loaded" state, and the phase it was in when l was pressed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(uri: str, cache_dir: str, wait: float) -> dict[str, float | str]:
    from tui.app import TfscopeApp
    from tui.screens.model import ModelScreen
    from tui.settings import Settings
    from tui.storage import GcsStore, Stores
    from tui.storage.cache import ModelCache

    app = TfscopeApp(Stores(GcsStore()), Settings(start=uri), cache=ModelCache(Path(cache_dir)))
    async with app.run_test(size=(120, 36)) as pilot:
        while not (isinstance(app.screen, ModelScreen) and app.screen.inspected):
            await pilot.pause(0.01)
        screen = app.screen
        await pilot.pause(wait)
        warm = not app.services.runtime.warming and app.services.runtime.running
        started = time.perf_counter()
        await pilot.press("l")
        while screen.load_state.phase not in {"loaded", "failed"}:
            await pilot.pause(0.005)
        took = time.perf_counter() - started
        if not screen.load_state.loaded:
            raise SystemExit(f"load failed: {screen.load_state.note}")
    return {"load_s": took, "runtime_ready": "yes" if warm else "no"}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(asyncio.run(main(args[0], args[1], float(args[2]) if len(args) > 2 else 3.0))))
