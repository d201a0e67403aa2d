"""Row 8's usual way: download both models, load each in Keras, compare their `model.summary()` texts.

    python bench/plain_diff.py URI_A URI_B

Prints one JSON line: download_s, load_s (both loaded) and total_s (the summaries compared, with the
number of differing lines), timed from this process's start, imports included.
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain import download  # noqa: E402


def summary(model: object) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.extend(line.splitlines()))  # type: ignore[attr-defined]
    return lines


if __name__ == "__main__":
    scratch = Path(tempfile.mkdtemp(prefix="bench-diff-"))  # removed at the end: two 103 MB downloads a run
    paths = [download(uri, Path(tempfile.mkdtemp(dir=scratch))) for uri in sys.argv[1:3]]
    result = {"download_s": time.perf_counter() - START}
    import keras

    models = [keras.saving.load_model(str(path), compile=False) for path in paths]
    result["load_s"] = time.perf_counter() - START
    changed = [line for line in difflib.unified_diff(summary(models[0]), summary(models[1]), lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip
    result["total_s"] = time.perf_counter() - START
    result["changed_lines"] = len(changed)
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
