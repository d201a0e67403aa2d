"""The usual ways, timed from inside their own process (imports included, interpreter start not).

    python bench/plain.py WAY KIND SOURCE [REPEAT]

WAY:
  local     load SOURCE, a local path
  gs        load SOURCE, a gs:// URI, with TensorFlow's own gs:// filesystem (Keras copies through it)
  download  google-cloud-storage `blob.download_to_filename`, one file after another, then load locally
KIND: saved_model (tf.saved_model.load) or keras (keras.saving.load_model, safe mode, not compiled).
Prints one JSON line: load_s, signatures_s (SavedModels: names listed), download_s, and, with REPEAT,
p50_ms of the serving signature on one random image.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()


def download(uri: str, dest: Path) -> Path:
    """Every object under the URI (or the one object), sequentially, as a Python shell user would."""
    from google.cloud import storage

    bucket_name, _, path = uri.removeprefix("gs://").partition("/")
    client = storage.Client(project="bench")
    if not path.endswith("/"):  # one file
        target = dest / path.rsplit("/", 1)[-1]
        client.bucket(bucket_name).blob(path).download_to_filename(str(target))
        return target
    for blob in client.list_blobs(bucket_name, prefix=path):
        target = dest / blob.name[len(path) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
    return dest


def main(way: str, kind: str, source: str, repeat: int) -> dict[str, float]:
    result: dict[str, float] = {}
    if way == "download":
        source = str(download(source, Path(tempfile.mkdtemp(prefix="bench-plain-"))))
        result["download_s"] = time.perf_counter() - START
    import numpy as np
    import tensorflow as tf

    if kind == "saved_model":
        model = tf.saved_model.load(source)
        result["load_s"] = time.perf_counter() - START
        names = sorted(model.signatures.keys())
        result["signatures_s"] = time.perf_counter() - START
        fn = model.signatures["serving_default"]
        call = lambda x: fn(keras_tensor=x)  # noqa: E731 (the demo model's input name)
    else:
        import keras

        model = keras.saving.load_model(source, compile=False)
        result["load_s"] = time.perf_counter() - START
        names = ["serve"]
        call = model
    if repeat:
        shape = (1, *tuple(model.inputs[0].shape)[1:]) if kind == "keras" else (1, 224, 224, 3)
        x = tf.constant(np.random.default_rng(0).standard_normal(shape).astype("float32"))
        call(x)  # the first call traces
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            call(x)
            runs.append((time.perf_counter() - t) * 1000)
        result["p50_ms"] = sorted(runs)[len(runs) // 2]
    assert names
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(main(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 0)))
