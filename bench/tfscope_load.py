"""tfscope's side of rows 2 and 6, timed from inside its own process like bench/plain.py.

    python bench/tfscope_load.py URI KIND CACHE_DIR [REPEAT]

Loads URI (an ArtifactKind value as KIND) through the download cache in CACHE_DIR with a fresh runtime
child, as the TUI's `l` does, and prints one JSON line: load_s (from this process's start: its imports
count, like plain.py's) and, with REPEAT, p50_ms of the serving signature on a random input as
`tfscope run` reports it.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.formats.kinds import ArtifactKind  # noqa: E402
from tui.runtime.host import RuntimeHost  # noqa: E402
from tui.runtime.protocol import InputSource, RunRequest  # noqa: E402
from tui.runtime.session import load_model  # noqa: E402
from tui.storage import GcsStore, Stores, parse_location  # noqa: E402
from tui.storage.cache import ModelCache  # noqa: E402


def main(uri: str, kind: str, cache_dir: str, repeat: int) -> dict[str, float]:
    host = RuntimeHost()
    try:
        load_model(Stores(GcsStore()), host, ModelCache(Path(cache_dir)), parse_location(uri), ArtifactKind(kind))
        result = {"load_s": time.perf_counter() - START}
        if repeat:
            run = host.run(RunRequest("serving_default", {"keras_tensor": InputSource("random")}, repeat=repeat))
            assert run.timings.p50_ms is not None
            result["p50_ms"] = run.timings.p50_ms
        return result
    finally:
        host.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(main(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 0)))
