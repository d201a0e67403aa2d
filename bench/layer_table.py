"""Row 3 helper: read a .keras/.h5's layer table from the bucket as the model screen does.

    python bench/layer_table.py URI

Prints one JSON line: partial_s (the layers from the config, shown first), full_s (parameter counts
in), requests, bytes_read and size. Times count from this process's start, imports included.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.formats.inspect import inspect_model  # noqa: E402
from tui.storage import GcsStore, parse_location  # noqa: E402

if __name__ == "__main__":
    partial: list[float] = []
    info = inspect_model(GcsStore(), parse_location(sys.argv[1]),
                         on_partial=lambda _: partial.append(time.perf_counter() - START))  # fmt: skip
    full = time.perf_counter() - START
    print(json.dumps({"partial_s": partial[0], "full_s": full, "requests": info.requests,
                      "bytes_read": info.bytes_read, "size": info.size}))  # fmt: skip
