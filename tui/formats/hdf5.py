"""Legacy Keras HDF5 (`.h5`) files, read in place: root attributes and dataset headers only.

The config and every weight's shape come from HDF5's metadata, read a tree level at a time (see
weights_h5): a small fraction of the file, in a few round trips.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO

from tui.errors import CorruptArtifactError
from tui.formats.keras_config import (
    add_unsafe_parts,
    custom_objects,
    layers_from_config,
)
from tui.formats.kinds import ArtifactKind
from tui.formats.limits import Budget, as_dict, as_str, parse_json
from tui.formats.model_info import ModelInfo, Need, Variable
from tui.formats.weights_h5 import DatasetShape, note_links, read_h5, shapes_of
from tui.storage import Location

ROOT_ATTRIBUTES = ("keras_version", "backend", "model_config", "training_config")
"""The root attributes Keras writes; others are not read (any of them may be huge)."""
CONFIG_READ_LIMIT = 96 * 1024 * 1024
"""Bytes reading the root attributes may fetch (a config is at most 64 MB: see h5_probe)."""


def read_hdf5(
    location: Location, raw: BinaryIO, size: int, weights: bool = True, budget: Budget | None = None
) -> ModelInfo:
    """Read a legacy Keras `.h5` from `raw`, an open (ranged) file of `size` bytes.

    `weights=False` reads the root attributes only (a few requests): layers without parameter counts.
    """
    budget = budget or Budget(location.uri)
    info = ModelInfo(ArtifactKind.HDF5, location, size=size, files=[(location.name, size)], partial=not weights)
    # The datasets' headers are a request or more each on a distant bucket: 100+ for a ResNet50.
    answer = read_h5(raw, size, location.uri, budget, attributes=ROOT_ATTRIBUTES,
                     groups=("model_weights", "optimizer_weights"), shapes=weights,
                     attribute_reads=CONFIG_READ_LIMIT)  # fmt: skip
    weights_group = answer["groups"]["model_weights"]
    if weights_group["kind"] == "external":
        info.details["Weights"] = f"an external link to {weights_group['target']}: not followed, not counted"
    elif weights_group["kind"] == "missing" and answer["root_layer_names"]:  # a weights-only file (save_weights)
        info.details["Contents"] = "weights only (no model config): load into a model built in code"
        answer["groups"]["model_weights"] = read_h5(raw, size, location.uri, budget, groups=("/",),
                                                    shapes=weights)["groups"]["/"]  # fmt: skip
    elif weights_group["kind"] == "missing":
        raise CorruptArtifactError(
            f"{location.uri} is an HDF5 file, but not a Keras model: no model_weights or layer_names.",
            "Open it with h5py to see what it holds.",
            title="Not a Keras model",
        )
    elif weights_group["kind"] != "group":
        raise CorruptArtifactError(f"model_weights in {location.uri} is not a group of layers: damaged.")
    note_links(answer, info)
    shapes = shapes_of(answer, "model_weights")
    optimizer_shapes = shapes_of(answer, "optimizer_weights")
    attrs: dict[str, str] = answer["attributes"]
    for key, label in (("keras_version", "Keras"), ("backend", "Backend")):
        if attrs.get(key):
            info.versions[label] = attrs[key]
    config = _json_attr(attrs, "model_config", location)
    training = _json_attr(attrs, "training_config", location)
    if training:
        info.details["Compiled with"] = _training_summary(training)
    if config:
        info.details["Model class"] = as_str(config.get("class_name"), "?")
        by_group = _by_top_group(shapes)
        info.layers = layers_from_config(config, lambda path, _raw: _params_under(by_group, path))
        info.needs.extend(Need.custom_object(name) for name in custom_objects(config))
        add_unsafe_parts(info, config)
    info.variables = [Variable(path, shape, dtype) for path, (shape, dtype) in shapes.items()]
    info.variables += [Variable(p, s, d, group="optimizer") for p, (s, d) in optimizer_shapes.items()]
    return info


def _json_attr(attrs: dict[str, str], key: str, location: Location) -> dict[str, Any]:
    if not attrs.get(key):
        return {}
    return as_dict(parse_json(attrs[key], f"The {key} attribute of {location.uri}"))


def _by_top_group(shapes: dict[str, DatasetShape]) -> dict[str, list[tuple[str, int]]]:
    """top-level group -> (path, size) of its weights: each layer then looks at its own weights only."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for key, (shape, _) in shapes.items():
        groups.setdefault(key.split("/", 1)[0], []).append((key, math.prod(shape)))
    return groups


def _params_under(by_group: dict[str, list[tuple[str, int]]], path: list[str]) -> int:
    """Legacy files group weights by layer name; nested models' layers sit inside their model's group."""
    inner = "/".join(path[1:])
    weights = by_group.get(path[0], []) if path else []
    return sum(size for key, size in weights if not inner or f"/{inner}/" in f"/{key}/")


def _training_summary(training: dict[str, Any]) -> str:
    optimizer = as_dict(training.get("optimizer_config"))
    loss = training.get("loss")
    loss_name = as_str(as_dict(loss).get("class_name")) if isinstance(loss, dict) else as_str(loss)
    return f"optimizer {as_str(optimizer.get('class_name'), '-')}, loss {loss_name or '-'}"
