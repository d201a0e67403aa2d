"""Legacy Keras HDF5 (`.h5`) files, read in place: attributes and dataset headers only.

Through the store's ranged reader (256 KB chunks on GCS) this costs a small fraction of the
file: HDF5 keeps its metadata together and h5py reads only what it is asked for.
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

from tui.errors import CorruptArtifactError
from tui.formats.keras_config import custom_objects, lambda_layers, layers_from_config
from tui.formats.model_info import ModelInfo, Variable
from tui.formats.weights_h5 import DatasetShape, dataset_shapes, h5_errors, open_h5
from tui.storage import ArtifactKind, Location


def read_hdf5(location: Location, raw: BinaryIO, size: int, weights: bool = True) -> ModelInfo:
    """Read a legacy Keras `.h5` from `raw`, an open (ranged) file of `size` bytes.

    `weights=False` reads the root attributes only (a few requests): layers without parameter counts.
    """
    info = ModelInfo(ArtifactKind.HDF5, location.uri, size=size, files=[(location.name, size)], partial=not weights)
    with open_h5(raw, location.uri) as h5, h5_errors(location.uri):
        attrs = {k: _text(v) for k, v in h5.attrs.items()}
        if "model_weights" in h5:
            weights_group = h5["model_weights"]
        elif "layer_names" in h5.attrs:  # a weights-only file (model.save_weights)
            weights_group = h5
            info.details["Contents"] = "weights only (no model config): load into a model built in code"
        else:
            raise CorruptArtifactError(
                f"{location.uri} is an HDF5 file, but not a Keras model: no model_weights or layer_names.",
                "Open it with h5py to see what it holds.",
                title="Not a Keras model",
            )
        # Every dataset header is a request or more on a distant bucket: 100+ for a ResNet50.
        shapes = dataset_shapes(weights_group) if weights else {}
        optimizer_shapes = dataset_shapes(h5["optimizer_weights"]) if weights and "optimizer_weights" in h5 else {}
    for key, label in (("keras_version", "Keras"), ("backend", "Backend")):
        if attrs.get(key):
            info.versions[label] = attrs[key]
    config = _json_attr(attrs, "model_config", location)
    training = _json_attr(attrs, "training_config", location)
    if training:
        info.details["Compiled with"] = _training_summary(training)
    if config:
        info.details["Model class"] = str(config.get("class_name", "?"))
        info.layers = layers_from_config(config, lambda path, _raw: _params_under(shapes, path))
        info.needs.extend(f"custom object {name}" for name in custom_objects(config))
        info.needs.extend(f"safe_mode=False for Lambda layer {n} (runs its Python code)" for n in lambda_layers(config))
    info.variables = [Variable(path, shape, dtype) for path, (shape, dtype) in shapes.items()]
    info.variables += [Variable(p, s, d, group="optimizer") for p, (s, d) in optimizer_shapes.items()]
    return info


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _json_attr(attrs: dict[str, str], key: str, location: Location) -> dict[str, Any]:
    if not attrs.get(key):
        return {}
    try:
        value = json.loads(attrs[key])
    except json.JSONDecodeError as exc:
        raise CorruptArtifactError(f"The {key} attribute of {location.uri} is not valid JSON ({exc}).") from exc
    return value if isinstance(value, dict) else {}


def _params_under(shapes: dict[str, DatasetShape], path: list[str]) -> int:
    """Legacy files group weights by layer name; nested models' layers sit inside their model's group."""
    group = path[0] if path else ""
    inner = "/".join(path[1:])
    total = 0
    for key, (shape, _) in shapes.items():
        if not key.startswith(group + "/"):
            continue
        if inner and f"/{inner}/" not in f"/{key}/":
            continue
        total += math.prod(shape)
    return total


def _training_summary(training: dict[str, Any]) -> str:
    optimizer = training.get("optimizer_config") or {}
    loss = training.get("loss")
    loss_name = loss.get("class_name") if isinstance(loss, dict) else loss
    return f"optimizer {optimizer.get('class_name', '-')}, loss {loss_name or '-'}"
