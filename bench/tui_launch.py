"""Row 5 helper: launch the TUI headless (Textual pilot) and print when it painted and showed its first page.

Run as `python bench/tui_launch.py SPAWN_TIME URI`; SPAWN_TIME is the parent's time.time() just before it
started this process, so interpreter start and imports count.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(spawned: float, uri: str) -> None:
    from tui.app import TfscopeApp
    from tui.settings import Settings
    from tui.storage import GcsStore, Stores

    app = TfscopeApp(Stores(GcsStore()), Settings(start=uri))
    async with app.run_test(size=(160, 45)) as pilot:
        painted = time.time()
        while not app.browser.listing_done:
            await pilot.pause(0.002)
        listed = time.time()
    print(json.dumps({"paint_s": painted - spawned, "first_page_s": listed - spawned}))


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]), sys.argv[2]))
