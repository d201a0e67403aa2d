"""Rows 4 and 5 helper: launch the TUI headless (Textual pilot) on a URI and report when it painted,
when the first rows showed, when the whole level had arrived, and its peak memory.

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
    first_rows = None
    async with app.run_test(size=(160, 45)) as pilot:
        painted = time.time()
        while not app.browser.listing_done:
            if first_rows is None and app.browser.table.row_count:
                first_rows = time.time()
            await pilot.pause(0.002)
        listed = time.time()
        rows = app.browser.table.row_count
    from common import peak_mb  # after the timings: its imports are the bench's, not the TUI's

    print(json.dumps({"paint_s": painted - spawned, "first_rows_s": (first_rows or listed) - spawned,
                      "listed_s": listed - spawned, "rows": rows, "peak_mb": peak_mb()}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]), sys.argv[2]))
