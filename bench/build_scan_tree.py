"""Build row 7's bucket: a zoo of 500+ small models nested at several depths, a few of them malicious.

    python bench/build_scan_tree.py DEST

Run by bench/scan_tree.py in a child process (TensorFlow's import stays out of the bench process).
Twelve distinct tiny models are built with TensorFlow and Keras, then hard-linked (copied where the file
system cannot link) to 520 paths under `DEST/data/<bucket>/zoo/`, among READMEs, metrics and configs as
a real bucket holds them; the malicious SavedModels of tests/malicious_models.py are spread among them.
`DEST/manifest.json` says where each model is, its format, and what each malicious one should be found
to do. A fixed seed makes the layout the same on every machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "tfscope-scan"
PREFIX = "zoo/"
TEMPLATES: dict[str, tuple[str, int]] = {
    # template -> (format id, copies in the tree): mostly SavedModels, as a serving bucket holds
    "dense_module": ("saved_model", 70),  # tf.saved_model.save of a tf.Module
    "text_module": ("saved_model", 50),  # three signatures, string and int64 inputs
    "vocab_module": ("saved_model", 20),  # a lookup table filled from its own asset file at load (standard: no finding)
    "tf1_builder": ("saved_model", 30),  # a TF1 SavedModelBuilder export
    "keras_export_mlp": ("saved_model", 70),  # keras.Model.export()
    "keras_export_conv": ("saved_model", 60),
    "mlp.keras": ("keras", 40),
    "conv.keras": ("keras", 40),
    "mlp.h5": ("h5", 35),
    "conv.h5": ("h5", 35),
    "checkpoint": ("checkpoint", 35),  # tf.train.CheckpointManager folder, with Adam slots
    "mlp.tflite": ("tflite", 35),
}
TEAMS = [f"team-{i:02d}" for i in range(1, 13)]
MODEL_NAMES = ["ranker", "classifier", "embedder", "detector", "forecaster", "tagger", "scorer", "encoder"]


def build_templates(dest: Path) -> None:
    """The distinct models, each as small as its format allows."""
    import keras
    import tensorflow as tf

    from tui.runtime.demo_models import write_checkpoint, write_text_model

    keras.utils.set_random_seed(0)
    dest.mkdir(parents=True)

    class Dense(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.normal([4, 2], seed=1), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x: Any) -> dict[str, Any]:
            return {"y": tf.matmul(x, self.w)}

    dense = Dense()
    tf.saved_model.save(dense, str(dest / "dense_module"), signatures={"serving_default": dense.__call__})
    write_text_model(dest / "text_module")
    vocab_module(dest / "vocab_module")
    tf1_builder(dest / "tf1_builder")

    mlp = keras.Sequential(
        [keras.Input((16,), name="features"), keras.layers.Dense(8, activation="relu", name="hidden"),
         keras.layers.Dense(3, name="logits")], name="mlp",
    )  # fmt: skip
    conv = keras.Sequential(
        [keras.Input((8, 8, 1), name="image"), keras.layers.Conv2D(4, 3, name="conv"),
         keras.layers.Flatten(name="flat"), keras.layers.Dense(5, name="out")], name="conv",
    )  # fmt: skip
    mlp.export(str(dest / "keras_export_mlp"), verbose=False)
    conv.export(str(dest / "keras_export_conv"), verbose=False)
    for name, model in (("mlp", mlp), ("conv", conv)):
        model.save(dest / f"{name}.keras")
        model.save(dest / f"{name}.h5")
    write_checkpoint(conv, dest / "checkpoint")
    (dest / "mlp.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(mlp).convert())


def vocab_module(dest: Path) -> None:
    """A text model whose lookup table reads its vocabulary file (an asset) when it is loaded."""
    import tensorflow as tf

    vocab = dest.parent / "vocab.txt"
    vocab.write_text("\n".join(["[UNK]", "the", "model", "bucket", "scan", "tensor"]) + "\n")

    class Vocab(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            initializer = tf.lookup.TextFileInitializer(
                str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            )  # fmt: skip
            self.table = tf.lookup.StaticHashTable(initializer, default_value=0)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="tokens")])
        def __call__(self, tokens: Any) -> dict[str, Any]:
            return {"ids": self.table.lookup(tokens)}

    module = Vocab()
    tf.saved_model.save(module, str(dest), signatures={"serving_default": module.__call__})
    vocab.unlink()


def tf1_builder(dest: Path) -> None:
    import tensorflow as tf

    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.get_variable("w", [3, 2], initializer=tf.compat.v1.ones_initializer())
        y = tf.matmul(x, w, name="y")
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(dest))
            signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
            builder.save()


def write_malicious(dest: Path) -> dict[str, list[list[str]]]:
    """tests/malicious_models.py's models (folder name -> expected (op, capability) findings)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from malicious_models import write_malicious_models

    dest.mkdir(parents=True)
    expected = write_malicious_models(dest)
    return {name: sorted([op, capability] for op, capability in pairs) for name, pairs in expected.items()}


class Layout:
    """Unique, plausible object paths at depths 2 to 6 under the prefix, from a seeded generator."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.used: set[str] = set()
        self.versions: Counter[str] = Counter()

    def _project(self) -> str:
        team = self.random.choice(TEAMS)
        return f"{team}/project-{self.random.randint(1, 4):02d}"

    def _unique(self, make: Any) -> str:
        while (path := make()) in self.used:
            pass
        self.used.add(path)
        return path

    def place(self, template: str, fmt: str) -> str:
        """A new path for a copy of `template` (folders end with /)."""
        name = self.random.choice(MODEL_NAMES)
        r = self.random

        def saved_model() -> str:
            shape = r.randrange(4)
            if shape == 0:  # team-03/ranker/7/
                return f"{r.choice(TEAMS)}/{name}/{r.randint(1, 40)}/"
            if shape == 1:  # team-03/project-02/ranker/7/
                return f"{self._project()}/{name}/{r.randint(1, 40)}/"
            if shape == 2:  # team-03/project-02/exports/ranker/1761989400/
                return f"{self._project()}/exports/{name}/{1761900000 + r.randrange(10**6)}/"
            # team-03/project-02/experiments/run-12/ranker/saved_model/
            return f"{self._project()}/experiments/run-{r.randint(1, 60):02d}/{name}/saved_model/"

        def single_file() -> str:
            extension = template.rsplit(".", 1)[1]
            shape = r.randrange(3)
            if shape == 0:  # team-03/ranker-v4.keras
                return f"{r.choice(TEAMS)}/{name}-v{r.randint(1, 40)}.{extension}"
            if shape == 1:  # team-03/project-02/models/ranker-v4.keras
                folder = "mobile" if fmt == "tflite" else "models"
                return f"{self._project()}/{folder}/{name}-v{r.randint(1, 40)}.{extension}"
            return f"{self._project()}/experiments/run-{r.randint(1, 60):02d}/{name}.{extension}"

        def checkpoint() -> str:
            return f"{self._project()}/training/run-{r.randint(1, 60):02d}/{name}/checkpoints/"

        make = {"saved_model": saved_model, "checkpoint": checkpoint}.get(fmt, single_file)
        return self._unique(make)

    def place_named(self, name: str) -> str:
        """A new `team/project/NAME/1/` folder, for a SavedModel that keeps its own name."""
        return self._unique(lambda: f"{self._project()}/{name}/1/")


def copy_model(source: Path, dest: Path) -> None:
    """Hard links where the file system allows them: 500 copies cost next to nothing."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, dest, copy_function=link)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        link(str(source), str(dest))


def main(dest: Path) -> None:
    templates = dest / "templates"
    build_templates(templates)
    expected = write_malicious(dest / "malicious") if (ROOT / "tests" / "malicious_models.py").is_file() else {}
    bucket = dest / "data" / BUCKET
    layout = Layout()
    models: list[dict[str, str]] = []
    for template, (fmt, copies) in TEMPLATES.items():
        for _ in range(copies):
            path = PREFIX + layout.place(template, fmt)
            copy_model(templates / template, bucket / path)
            models.append({"path": path, "format": fmt, "template": template})
    malicious = {}
    for name, pairs in sorted(expected.items()):
        path = PREFIX + layout.place_named(name)
        copy_model(dest / "malicious" / name, bucket / path)
        models.append({"path": path, "format": "saved_model", "template": f"malicious:{name}"})
        malicious[path] = pairs
    projects = {"/".join(m["path"].split("/")[1:3]) for m in models if m["path"].split("/")[2].startswith("project-")}
    for project in sorted(projects):  # what sits beside models in a real bucket
        folder = bucket / PREFIX / project
        (folder / "README.md").write_text(f"# {project}\n\nOwned by {project.split('/')[0]}.\n")
        (folder / "metrics.csv").write_text(
            "step,loss,accuracy\n" + "".join(f"{i},{1 / i:.3f},0.9\n" for i in range(1, 50))
        )
        (folder / "config.json").write_text(json.dumps({"learning_rate": 1e-3, "batch_size": 32}))
    shutil.rmtree(templates)
    shutil.rmtree(dest / "malicious", ignore_errors=True)
    manifest = {"bucket": BUCKET, "prefix": PREFIX, "models": models, "malicious": malicious}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
