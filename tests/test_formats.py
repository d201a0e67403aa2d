"""Each reader's answer must equal TensorFlow's own, on real models made at test time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.formats.inspect import inspect_model
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo, Need
from tui.storage import LocalStore, parse_location

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def inspect(path: Path) -> ModelInfo:
    return inspect_model(LocalStore(), parse_location(str(path)))


def tf_shape(shape: Any) -> list[int | None] | None:
    return None if shape.rank is None else [None if d is None else int(d) for d in shape.as_list()]


def specs(info: ModelInfo, signature: str, side: str) -> dict[str, tuple[str, list[int | None] | None]]:
    sig = next(s for s in info.signatures if s.name == signature)
    tensors = sig.inputs if side == "inputs" else sig.outputs
    return {t.name: (t.dtype, None if t.shape is None else list(t.shape)) for t in tensors}


@pytest.mark.parametrize("folder", ["saved/exported", "saved/multi"])
def test_saved_model_matches_tf_load(zoo: Path, folder: str) -> None:
    info = inspect(zoo / folder)
    loaded = tf.saved_model.load(str(zoo / folder))
    assert {s.name for s in info.signatures} == set(loaded.signatures.keys())
    assert info.signatures[0].name == "serving_default"
    for name, fn in loaded.signatures.items():
        expected_in = {k: (v.dtype.name, tf_shape(v.shape)) for k, v in fn.structured_input_signature[1].items()}
        expected_out = {k: (v.dtype.name, tf_shape(v.shape)) for k, v in fn.structured_outputs.items()}
        assert specs(info, name, "inputs") == expected_in
        assert specs(info, name, "outputs") == expected_out
    # Keras exports list their variables; a plain tf.Module's are found by walking what it tracks.
    variables = getattr(loaded, "variables", None) or [
        v for v in tf.train.TrackableView(loaded).descendants() if isinstance(v, tf.Variable)
    ]
    expected_vars = sorted((v.name.split(":")[0], tuple(v.shape.as_list()), v.dtype.name) for v in variables)
    assert sorted((v.name, v.shape, v.dtype) for v in info.variables) == expected_vars
    assert info.total_params == sum(v.shape.num_elements() for v in variables)
    assert info.versions["TensorFlow"] == tf.__version__


def test_multi_signature_string_and_int64_inputs(zoo: Path) -> None:
    info = inspect(zoo / "saved/multi")
    assert specs(info, "classify_text", "inputs") == {"text": ("string", [None])}
    assert specs(info, "classify_ids", "inputs") == {"token_ids": ("int64", [None, None])}
    assert "__saved_model_init_op" not in {s.name for s in info.signatures}
    assert info.ops["StatefulPartitionedCall"] > 0


def test_tf1_saved_model_with_two_tag_sets(zoo: Path) -> None:
    info = inspect(zoo / "saved/tf1")
    assert sorted(info.tag_sets) == [("serve",), ("train", "gpu")]
    assert {s.name for s in info.signatures} == {"serving_default", "train_sig"}
    assert specs(info, "serving_default", "inputs") == {"x": ("float32", [None, 3])}
    assert [(v.name, v.shape, v.dtype, v.trainable) for v in info.variables] == [("w", (3, 2), "float32", True)]
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["train", "gpu"], str(zoo / "saved/tf1"))
        assert set(meta.signature_def) == {"train_sig"}


@pytest.mark.parametrize("name", ["functional", "sequential", "nested", "subclassed"])
def test_keras_v3_matches_keras(zoo: Path, name: str) -> None:
    from build_zoo import Subclassed  # registers the class, as the user's own code would

    path = zoo / "keras" / f"{name}.keras"
    info = inspect(path)
    model = keras.saving.load_model(path, compile=False, custom_objects={"zoo>Subclassed": Subclassed})
    assert info.kind is ArtifactKind.KERAS
    assert info.total_params == model.count_params()
    assert info.versions["Keras"] == keras.__version__
    if name != "subclassed":
        shown = [layer.name for layer in info.layers if layer.class_name != "InputLayer"]
        assert shown == [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
        by_name = {layer.name: layer for layer in info.layers}
        for layer in model.layers:
            assert by_name[layer.name].params == layer.count_params(), layer.name


@pytest.mark.parametrize("name", ["functional", "sequential", "nested"])
def test_legacy_h5_matches_keras(zoo: Path, name: str) -> None:
    path = zoo / "keras" / f"{name}.h5"
    info = inspect(path)
    model = keras.saving.load_model(path, compile=False)
    assert info.kind is ArtifactKind.HDF5
    assert info.total_params == model.count_params()
    assert info.versions["Backend"] == "tensorflow"


def test_functional_graph_details(zoo: Path) -> None:
    info = inspect(zoo / "keras/functional.keras")
    by_name = {layer.name: layer for layer in info.layers}
    assert by_name["merge"].connected_to == ("branch_a", "branch_b")
    assert by_name["branch_a"].output_shape == "(None, 8)"
    assert by_name["merge"].output_shape == "(None, 16)"
    assert by_name["logits"].output_shape == "(None, 3)"
    assert by_name["norm"].params == 4 * 16


def test_nested_model_is_expandable(zoo: Path) -> None:
    info = inspect(zoo / "keras/nested.keras")
    encoder = next(layer for layer in info.layers if layer.name == "encoder")
    assert [c.name for c in encoder.children] == ["inner_in", "inner_dense"]
    assert encoder.params == 6 * 4 + 4


def test_subclassed_model_needs_its_class(zoo: Path) -> None:
    info = inspect(zoo / "keras/subclassed.keras")
    assert Need("custom_object", "custom object zoo>Subclassed") in info.needs
    assert info.details["Compiled with"].startswith("optimizer Adam")


@pytest.mark.parametrize("folder", ["ckpt/keras", "ckpt/slots"])
def test_checkpoint_matches_list_variables(zoo: Path, folder: str) -> None:
    info = inspect(zoo / folder)
    prefix = tf.train.latest_checkpoint(str(zoo / folder))
    expected = {
        name.removesuffix("/.ATTRIBUTES/VARIABLE_VALUE"): tuple(shape)
        for name, shape in tf.train.list_variables(prefix)
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }
    shown = {v.name: v.shape for v in info.variables}
    assert shown == expected and len(info.variables) == len(expected)  # TF's keys, slot variables too, once each
    assert info.details["Latest"].endswith("ckpt-1")


def test_checkpoint_groups_optimizer_state_apart(zoo: Path) -> None:
    keras_ckpt = inspect(zoo / "ckpt/keras")
    model = keras.saving.load_model(zoo / "keras/functional.keras", compile=False)
    assert keras_ckpt.total_params == model.count_params()
    assert any(v.group == "optimizer" for v in keras_ckpt.variables)
    slots = inspect(zoo / "ckpt/slots")
    groups = {v.name: v.group for v in slots.variables}
    assert groups["module/w"] == "model"
    assert {g for n, g in groups.items() if ".OPTIMIZER_SLOT" in n} == {"optimizer"}
    assert slots.total_params == 12


@pytest.mark.parametrize("name", ["float", "int8"])
def test_tflite_matches_the_interpreter(zoo: Path, name: str) -> None:
    path = zoo / "tflite" / f"{name}.tflite"
    info = inspect(path)
    interpreter = tf.lite.Interpreter(model_path=str(path))
    assert {s.name: ([t.name for t in s.inputs], [t.name for t in s.outputs]) for s in info.signatures} == {
        k: (v["inputs"], v["outputs"]) for k, v in interpreter.get_signature_list().items()
    }
    runner = interpreter.get_signature_runner("serving_default")
    sig = info.signatures[0]
    for side, details in (("inputs", runner.get_input_details()), ("outputs", runner.get_output_details())):
        tensors = {t.name: t for t in (sig.inputs if side == "inputs" else sig.outputs)}
        for key, detail in details.items():
            tensor = tensors[key]
            assert tensor.dtype == detail["dtype"].__name__
            assert list(tensor.shape) == [None if d < 0 else int(d) for d in detail["shape_signature"]]
            scale, zero_point = detail["quantization"]
            if name == "int8":
                assert tensor.quantization == f"scale={scale:.6g} zero_point={zero_point}"
            else:
                assert tensor.quantization is None
    assert info.ops and all(count > 0 for count in info.ops.values())


@pytest.mark.parametrize("name", ["saved", "model.h5"])
def test_keras2_artifacts_match_tf_keras(zoo: Path, name: str) -> None:
    tf_keras = pytest.importorskip("tf_keras")
    info = inspect(zoo / "keras2" / name)
    model = tf_keras.models.load_model(str(zoo / "keras2" / name), compile=False)
    assert info.versions["Keras"] == tf_keras.__version__
    assert [layer.name for layer in info.layers] == [layer.name for layer in model.layers]
    assert [layer.params for layer in info.layers] == [layer.count_params() for layer in model.layers]
    assert info.total_params == model.count_params()
    assert next(layer for layer in info.layers if layer.name == "scores").connected_to == ("drop",)


def test_a_savedmodel_saved_with_its_optimizer_counts_only_the_model(tmp_path: Path) -> None:
    """Keras 2 saves the optimizer's slots (Adam's m and v) in the SavedModel; they are not the model's."""
    import numpy as np

    tf_keras = pytest.importorskip("tf_keras")
    inputs = tf_keras.Input((6,), name="x")
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, name="out")(tf_keras.layers.Dense(8)(inputs)))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 6), "float32"), np.ones((4, 3), "float32"), epochs=1, verbose=0)
    model.save(str(tmp_path / "trained"), save_format="tf")
    info = inspect(tmp_path / "trained")
    loaded = tf.saved_model.load(str(tmp_path / "trained"))
    assert info.total_params == model.count_params() == sum(int(np.prod(v.shape)) for v in loaded.variables)
    slots = [v for v in info.variables if v.group == "optimizer" and v.shape]
    assert len(slots) == 2 * len(model.trainable_weights)  # m and v of each weight
