"""Real TensorFlow/Keras artifacts for the demo bucket and the tests.

Run as `python -m tui.runtime.demo_models DEST [--small]`: it imports TensorFlow, so the TUI runs it
in a child process and stays light. `--small` swaps MobileNetV2 for a tiny CNN of the same shape of
API, for tests that need every artifact kind in seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMAGE_SIZE = 224
CLASSES = 1000
SMALL_IMAGE_SIZE = 32
SMALL_CLASSES = 10


def build_image_classifier(small: bool) -> Any:
    """MobileNetV2 with random weights (no download), or a tiny CNN when `small`."""
    import keras

    if not small:
        return keras.applications.MobileNetV2(weights=None, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), classes=CLASSES)
    inputs = keras.Input((SMALL_IMAGE_SIZE, SMALL_IMAGE_SIZE, 3), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(SMALL_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny_cnn")


def write_checkpoint(model: Any, dest: Path) -> None:
    """A training checkpoint with Adam slots: one real step on random data."""
    import keras
    import numpy as np
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    shape = (2, *model.input_shape[1:])
    model.train_on_batch(np.random.default_rng(0).random(shape, dtype="float32"), np.zeros((2,), "int32"))
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    tf.train.CheckpointManager(checkpoint, str(dest), max_to_keep=2).save()


def write_text_model(dest: Path) -> None:
    """A SavedModel with several signatures, a string input and an int64 input."""
    import tensorflow as tf

    class TextClassifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = tf.Variable(tf.random.normal([64, 8], seed=1), name="embedding")
            self.dense = tf.Variable(tf.random.normal([8, 3], seed=2), name="dense")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def classify_text(self, text: Any) -> dict[str, Any]:
            ids = tf.strings.to_hash_bucket_fast(tf.strings.split(text).to_tensor(""), 64)
            return self.classify_ids(ids)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int64, name="token_ids")])
        def classify_ids(self, token_ids: Any) -> dict[str, Any]:
            pooled = tf.reduce_mean(tf.nn.embedding_lookup(self.embedding, token_ids), axis=1)
            logits = tf.matmul(pooled, self.dense)
            return {"logits": logits, "label": tf.argmax(logits, axis=-1)}

    module = TextClassifier()
    signatures = {
        "serving_default": module.classify_text,
        "classify_text": module.classify_text,
        "classify_ids": module.classify_ids,
    }
    tf.saved_model.save(module, str(dest), signatures=signatures)


def write_tflite(saved_model_dir: Path, dest: Path) -> None:
    import tensorflow as tf

    dest.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir)).convert())


def build_all(root: Path, small: bool = False, progress: Callable[[str], None] = print) -> None:
    """Write the demo bucket's objects under `root` (laid out as object names)."""
    import keras

    keras.utils.set_random_seed(0)
    model = build_image_classifier(small)
    name = "tiny_cnn" if small else "mobilenet_v2"
    image = root / "models" / "image"
    image.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("SavedModel (model.export)", lambda: model.export(str(root / "serving" / name / "1"), verbose=False)),
        ("Keras v3 .keras", lambda: model.save(image / f"{name}.keras")),
        ("legacy Keras .h5", lambda: model.save(image / f"{name}.h5")),
        ("TFLite", lambda: write_tflite(root / "serving" / name / "1", root / "models" / "mobile" / f"{name}.tflite")),
        ("training checkpoint", lambda: write_checkpoint(model, root / "checkpoints" / name)),
        ("text SavedModel with several signatures", lambda: write_text_model(root / "models" / "text" / "classifier")),
    ]
    (root / "models" / "mobile").mkdir(parents=True, exist_ok=True)
    for i, (label, step) in enumerate(steps, 1):
        progress(f"[{i}/{len(steps)}] {label}")
        step()
    write_plain_files(root, image / f"{name}.h5")


def write_plain_files(root: Path, h5_path: Path) -> None:
    """Non-model files, nested prefixes and one damaged model, so browsing is real."""
    (root / "README.txt").write_text("tfscope demo bucket: models in every TensorFlow format.\n")
    labels = root / "datasets" / "imagenet"
    labels.mkdir(parents=True, exist_ok=True)
    (labels / "labels.txt").write_text("".join(f"class_{i}\n" for i in range(CLASSES)))
    (labels / "sample.csv").write_text("path,label\nimg/0.jpg,3\nimg/1.jpg,7\n")
    for month, runs in (("2026-10", 2), ("2026-11", 3)):
        for run in range(1, runs + 1):
            folder = root / "experiments" / month / f"run-{run:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "params.json").write_text(f'{{"learning_rate": 0.001, "run": {run}}}\n')
            (folder / "metrics.csv").write_text("epoch,accuracy\n1,0.41\n2,0.57\n")
    broken = root / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "truncated.h5").write_bytes(h5_path.read_bytes()[:4096])
    (broken / "not_a_model.keras").write_bytes(b"this is plain text with a .keras name\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tmp = args.dest.with_name(f".{args.dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build_all(tmp, small=args.small, progress=lambda line: print(line, flush=True))
    shutil.rmtree(args.dest, ignore_errors=True)
    tmp.rename(args.dest)  # whole or not at all: a half-built demo is never reused
    return 0


if __name__ == "__main__":
    sys.exit(main())
