"""Capability findings that try to hide from a static scan (issue: round 2): a TF1 local variable's
initializer, control inputs into the saver, a graph held in a string for DatasetFromGraph, a Keras lookup
layer's vocabulary path. Each model is built with TF/Keras here; each test shows TensorFlow really touches
the file, that tfscope reports it with its `when` and target, and that `tfscope run` refuses first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tui.formats.inspect import inspect_model
from tui.formats.keras_config import KERAS_LOAD
from tui.formats.model_info import AT_LOAD, ModelInfo
from tui.formats.protos import message
from tui.storage import LocalStore, parse_location

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
SERVING = "when called: serving_default"


def inspect(path: Path) -> ModelInfo:
    return inspect_model(LocalStore(), parse_location(str(path)))


def found(info: ModelInfo) -> set[tuple[str, str, str | None, str]]:
    return {(f.name, f.capability, f.target, f.when) for f in info.findings}


def refused_by_run(path: Path, tmp_path: Path, *args: str) -> str:
    """`tfscope run`'s stderr, having asserted that it refused before any runtime started."""
    code = (  # counts the runtime's uses that would start TensorFlow, not its construction
        "import sys, tui.runtime.host as host; started = []\n"
        "def counted(name):\n"
        "    real = getattr(host.RuntimeHost, name)\n"
        "    return lambda self, *a, **k: (started.append(name), real(self, *a, **k))[1]\n"
        "for name in ('load', 'prewarm', 'run'): setattr(host.RuntimeHost, name, counted(name))\n"
        "from tui.cli import main; rc = main(sys.argv[1:]); print('runtimes', len(started)); sys.exit(rc)"
    )
    argv = [sys.executable, "-c", code, "run", str(path), *args, "--cache-dir", str(tmp_path / "c")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_GCE_CHECK": "true"})
    assert done.returncode == 1 and ("--allow-findings" in done.stderr or "--unsafe" in done.stderr), done.stderr
    assert done.stdout.strip() == "runtimes 0", done.stdout
    return done.stderr


def _tf1_model(path: Path, build: Any, **builder_args: Any) -> None:
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        y = tf.identity(x * 2.0, name="y")
        extra = build() or {}
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder = v1.saved_model.Builder(str(path))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature},
                                                 **{**builder_args, **extra})  # fmt: skip
        builder.save()


# -- 1. a TF1 local variable's initializer ---------------------------------------------------------


def test_a_local_variables_initializer_is_run_at_load(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-local-init.txt"
    path = tmp_path / "model"

    def build() -> None:
        write = tf.io.write_file(str(marker), "ran")
        with tf.control_dependencies([write]):
            start = tf.identity(tf.constant(0.0))
        v1.Variable(start, collections=[v1.GraphKeys.LOCAL_VARIABLES], name="counter")

    _tf1_model(path, build)
    assert not marker.exists()
    assert ("WriteFile", "file_write", str(marker), AT_LOAD) in found(inspect(path))
    assert "WriteFile" in refused_by_run(path, tmp_path, "--input", "x=[1]")
    assert not marker.exists()
    tf.saved_model.load(str(path))  # no main op: TF runs the default local init op
    assert marker.read_text() == "ran"


# -- 2. control inputs into the saver ------------------------------------------------------------------


def test_a_save_hung_on_the_tf1_restore_op_is_found(tmp_path: Path) -> None:
    written = tmp_path / "planted"
    path = tmp_path / "model"

    def build() -> dict[str, Any]:
        v1.Variable(1.0, name="w")
        saver = v1.train.Saver()
        planted = tf.raw_ops.SaveV2(prefix=str(written), tensor_names=["x"], shape_and_slices=[""],
                                    tensors=[tf.constant(1.0)])  # fmt: skip
        restore = tf.compat.v1.get_default_graph().get_operation_by_name(saver.saver_def.restore_op_name)
        restore._add_control_input(planted)  # a control input the standard saver never has
        return {"saver": saver}

    _tf1_model(path, build)
    assert not (tmp_path / "planted.index").exists()
    info = inspect(path)
    assert ("SaveV2", "file_write", str(written), AT_LOAD) in found(info)
    assert [f.target for f in info.findings if f.name in {"SaveV2", "RestoreV2", "MergeV2Checkpoints"}] == [
        str(written)
    ]  # the saver's own ops, on its filename, stay exempt
    refused_by_run(path, tmp_path, "--input", "x=[1]")
    assert not (tmp_path / "planted.index").exists()
    tf.saved_model.load(str(path))  # restoring the variables runs the restore op and its control inputs
    assert (tmp_path / "planted.index").exists()


def test_a_signature_pulled_into_the_tf2_saver_is_not_exempt(tmp_path: Path) -> None:
    written = tmp_path / "planted"

    class Writer(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            self.w = tf.Variable(1.0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def serve(self, x: Any) -> dict[str, Any]:
            save = tf.raw_ops.SaveV2(prefix=str(written), tensor_names=["x"], shape_and_slices=[""], tensors=[x])
            with tf.control_dependencies([save]):  # a tf.function does not run a SaveV2 nothing depends on
                return {"y": x * self.w}

    module = Writer()
    path = tmp_path / "model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    # Hang the signature's call on the saver's save node, so a scan of the saver's reach holds its SaveV2.
    saved = message("SavedModel")
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0]
    caller = graph.signature_def["serving_default"].outputs["y"].name.split(":")[0]
    save_node = graph.saver_def.save_tensor_name.split(":")[0]
    next(n for n in graph.graph_def.node if n.name == save_node).input.append(f"^{caller}")
    (path / "saved_model.pb").write_bytes(saved.SerializeToString())

    assert ("SaveV2", "file_write", str(written), SERVING) in found(inspect(path))
    refused_by_run(path, tmp_path, "--input", "x=[1]")
    assert not (tmp_path / "planted.index").exists()
    tf.saved_model.load(str(path)).signatures["serving_default"](x=tf.constant(2.0))
    assert (tmp_path / "planted.index").exists()


# -- 3. a graph held in a string ----------------------------------------------------------------------


def test_the_graph_a_dataset_from_graph_runs_is_scanned(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-inner-graph.txt"

    def write(text: Any) -> Any:
        with tf.control_dependencies([tf.io.write_file(str(marker), text)]):
            return tf.identity(text)

    inner = tf.data.Dataset.from_tensors(tf.constant("ran")).map(write)
    graph_def = inner._as_serialized_graph().numpy()
    spec = inner.element_spec

    def run_graph(graph: Any) -> Any:
        return tf.data.experimental.from_variant(
            tf.raw_ops.DatasetFromGraph(graph_def=graph), spec
        ).get_single_element()

    class Hidden(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, x: Any) -> dict[str, Any]:
            return {"y": tf.strings.join([x, run_graph(tf.constant(graph_def))])}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def computed(self, x: Any) -> dict[str, Any]:  # the same graph, joined to nothing taken from x
            return {"y": run_graph(tf.strings.join([tf.constant(graph_def), tf.strings.substr(x, 0, 0)]))}

    module = Hidden()
    path = tmp_path / "model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve, "computed": module.computed})
    info = inspect(path)
    [write_finding] = [f for f in info.findings if f.name == "WriteFile"]
    assert (write_finding.capability, write_finding.target, write_finding.when) == ("file_write", str(marker), SERVING)
    assert "DatasetFromGraph" in write_finding.where  # placed through the node that runs the graph
    assert ("DatasetFromGraph", "unseen_graph", None, "when called: computed") in found(info)
    refused_by_run(path, tmp_path, "--input", "x=a")
    refused_by_run(path, tmp_path, "--signature", "computed", "--input", "x=a")
    assert not marker.exists()
    # TensorFlow folds a constant graph into a dataset it then cannot hand over (an attacker's graph is
    # computed, as here): the computed signature shows what the graph does when it runs.
    tf.saved_model.load(str(path)).signatures["computed"](x=tf.constant("a"))
    assert marker.read_text() == "ran"


# -- 4. a Keras lookup layer's vocabulary path -------------------------------------------------------


@pytest.fixture
def vocabulary_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside-vocabulary.txt"
    path.write_text("read\nfrom\noutside\n")
    return path


def _lookup_model(keras: Any) -> Any:
    inputs = keras.Input((1,), dtype="string", name="text")
    return keras.Model(inputs, keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")(inputs))


def _point_config_at(config: dict[str, Any], path: Path) -> None:
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "StringLookup":
            layer["config"]["vocabulary"] = str(path)


def test_a_lookup_vocabulary_path_in_a_keras_file_is_read_at_load(tmp_path: Path, vocabulary_file: Path) -> None:
    keras = pytest.importorskip("keras")
    plain = tmp_path / "plain.keras"
    _lookup_model(keras).save(plain)
    assert inspect(plain).findings == []  # Keras keeps a list vocabulary in the config: nothing to read
    crafted = tmp_path / "crafted.keras"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(crafted, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                _point_config_at(config, vocabulary_file)
                data = json.dumps(config).encode()
            out.writestr(item, data)
    info = inspect(crafted)
    [finding] = info.findings
    assert (finding.name, finding.capability, finding.target, finding.when, finding.where) == (
        "StringLookup", "file_read", str(vocabulary_file), KERAS_LOAD, "layer lookup")  # fmt: skip
    assert [n.kind for n in info.needs] == ["local_file"] and str(vocabulary_file) in info.needs[0].detail
    assert "--unsafe" in refused_by_run(crafted, tmp_path, "--input", "text=a")
    _keras_reads_it_with_safe_mode_off(keras, crafted)


def _keras_reads_it_with_safe_mode_off(keras: Any, path: Path) -> None:
    """Keras 3 refuses a vocabulary file outside the archive under safe mode, and reads it without."""
    with pytest.raises((ValueError, TypeError), match="vocabulary file outside of the model archive"):
        keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, safe_mode=False)
    assert "outside" in loaded.get_layer("lookup").get_vocabulary()


def test_a_lookup_vocabulary_path_in_an_h5_file_is_read_at_load(tmp_path: Path, vocabulary_file: Path) -> None:
    keras = pytest.importorskip("keras")
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    _lookup_model(keras).save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        _point_config_at(config, vocabulary_file)
        f.attrs["model_config"] = json.dumps(config)
    assert ("StringLookup", "file_read", str(vocabulary_file), KERAS_LOAD) in found(inspect(path))
    assert "--unsafe" in refused_by_run(path, tmp_path, "--input", "text=a")
    _keras_reads_it_with_safe_mode_off(keras, path)


def test_a_lookup_vocabulary_path_in_keras_metadata_is_not_read(tmp_path: Path, vocabulary_file: Path) -> None:
    """tf_keras keeps a vocabulary file's path in keras_metadata.pb, but rebuilds the table from the
    SavedModel's own copy in assets/: the path is never opened (the file is gone here), so it is no finding."""
    tf_keras = pytest.importorskip("tf_keras")
    inputs = tf_keras.Input((1,), dtype="string", name="text")
    model = tf_keras.Model(inputs, tf_keras.layers.StringLookup(vocabulary=str(vocabulary_file), name="lookup")(inputs))
    path = tmp_path / "saved"
    model.save(str(path), save_format="tf")
    assert str(vocabulary_file) in (path / "keras_metadata.pb").read_bytes().decode("utf-8", "replace")
    assert inspect(path).findings == []
    vocabulary_file.unlink()
    assert "outside" in tf_keras.models.load_model(str(path)).get_layer("lookup").get_vocabulary()
