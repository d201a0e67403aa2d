"""Checkpoint variables are listed by TensorFlow's keys, each with its path through the model where the key
is another, and counted as the object graph tells, on checkpoints Keras writes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.formats.report import to_text
from tui.storage import LocalStore, parse_location

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def inspect(path: Path | str) -> ModelInfo:
    return inspect_model(LocalStore(), parse_location(str(path)))


def variables_header(info: ModelInfo) -> str:
    return next(line for line in to_text(info).splitlines() if line.startswith("variables ("))


def shown_path(info: ModelInfo, key: str) -> str:
    path = next(v.model_path for v in info.variables if v.name == key)
    assert path is not None
    return path


def small_model() -> Any:
    """Dense, BatchNormalization (non-trainable moving stats), Dense: weights of both kinds."""
    inputs = keras.Input((8,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(16, activation="relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(3)(hidden))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A model compiled with Adam and trained one step: its optimizer tracks every trainable weight."""
    model = small_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.random((4, 8), dtype="float32"), np.zeros((4,), "int32"))
    for weight in model.weights:  # values found nowhere else, so a key can be told by its value
        weight.assign(rng.standard_normal(weight.shape).astype("float32"))
    folder = tmp_path_factory.mktemp("trained")
    # save(), not write(): it adds the save counter, a variable of the third group.
    tf.train.Checkpoint(model=model, optimizer=model.optimizer).save(str(folder / "ckpt"))
    return model, folder


def test_header_counts_each_group_as_the_rows_name_it(trained: tuple[Any, Path]) -> None:
    info = inspect(trained[1])
    groups = Counter(v.group for v in info.variables)
    assert groups["optimizer"] and groups["other"] == 1  # Adam's state, and the save counter
    expected = f"variables ({groups['model']} model, {groups['optimizer']} optimizer, {groups['other']} other)"
    assert variables_header(info) == expected


def test_header_leaves_out_empty_groups(tmp_path: Path) -> None:
    model = small_model()
    tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    info = inspect(tmp_path)
    assert {v.group for v in info.variables} == {"model"}
    assert variables_header(info) == f"variables ({len(info.variables)} model)"


def test_the_variable_list_is_tensorflows_with_slots(trained: tuple[Any, Path]) -> None:
    """Every key tf.train.list_variables gives, optimizer slots and the model's weights saved under the
    optimizer's keys included, with its shape."""
    _, folder = trained
    expected = {k.removesuffix(VALUE_SUFFIX): tuple(s) for k, s in tf.train.list_variables(str(folder))
                if k != OBJECT_GRAPH_KEY}  # fmt: skip
    info = inspect(folder)
    assert {v.name: v.shape for v in info.variables} == expected and len(info.variables) == len(expected)
    assert "optimizer/_trainable_variables/0" in expected  # the key the issue found missing
    slots = [v for v in info.variables if v.name.startswith("optimizer/_variables/")]
    assert slots and all(v.group == "optimizer" and v.model_path is None for v in slots)  # Adam's moments


def test_model_variables_saved_through_the_optimizer_carry_their_path_through_the_model(
    trained: tuple[Any, Path], tmp_path: Path
) -> None:
    model, folder = trained
    saved = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    shapes = saved.get_variable_to_shape_map()
    # TF's own key for each weight when no optimizer offers a shorter path: an uncompiled twin's.
    copy = small_model()
    copy.set_weights(model.get_weights())
    plain = tf.train.load_checkpoint(tf.train.Checkpoint(model=copy).write(str(tmp_path / "ckpt")))
    expected = {}  # name through the model -> the key it is saved under
    for key in plain.get_variable_to_shape_map():
        if key != OBJECT_GRAPH_KEY:
            value = plain.get_tensor(key)
            [original] = [k for k in shapes if k != OBJECT_GRAPH_KEY and np.array_equal(saved.get_tensor(k), value)]
            expected[key.removesuffix(VALUE_SUFFIX)] = original
    assert any(k.startswith("optimizer/_trainable_variables/") for k in expected.values())  # the case at hand

    info = inspect(folder)
    shown = {v.model_path or v.name: v for v in info.variables if v.group == "model"}
    assert set(shown) == set(expected)
    assert {path: shown[path].name for path in expected} == {
        p: k.removesuffix(VALUE_SUFFIX) for p, k in expected.items()
    }
    assert {path: shown[path].shape for path in expected} == {p: tuple(shapes[k]) for p, k in expected.items()}
    assert all(v.model_path is None for v in info.variables if not v.name.startswith("optimizer/_trainable_var"))
    assert "optimizer/_trainable_variables/" in info.details["Checkpoint keys"]
    row = next(line for line in to_text(info).splitlines() if "optimizer/_trainable_variables/0 " in line)
    assert row.endswith(f"model  = {shown_path(info, 'optimizer/_trainable_variables/0')}")
