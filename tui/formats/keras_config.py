"""Keras model configs (the JSON in `.keras` and `.h5` files) turned into a layer table.

Works on Keras 3 and Keras 2 configs: functional graphs (with "connected to"), Sequential stacks,
nested models (expandable), and subclassed models, whose config lists no layers (their rows then
come from the weights file alone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from tui.formats.limits import as_dict, as_list, as_str
from tui.formats.model_info import Finding, Layer, ModelInfo, Need
from tui.formatting import format_shape

MODEL_CLASSES = {"Functional", "Sequential", "Model"}

ParamsOf = Callable[[list[str], dict[str, Any]], int]
"""(path of layer names from the root, the layer's config) -> its parameter count."""


def layers_from_config(model_config: dict[str, Any], params_of: ParamsOf, path: list[str] | None = None) -> list[Layer]:
    """The layer rows of a model config; nested models get their rows as `children`."""
    path = path or []
    config = as_dict(as_dict(model_config).get("config"))
    raw_layers = config.get("layers")
    if not isinstance(raw_layers, list):
        return []
    sequential = model_config.get("class_name") == "Sequential"
    produced = _shapes_consumed(raw_layers)
    rows: list[Layer] = []
    for index, raw in enumerate(raw_layers):
        if not isinstance(raw, dict):
            continue
        layer_config = as_dict(raw.get("config"))
        name = as_str(layer_config.get("name")) or as_str(raw.get("name")) or f"layer_{index}"
        class_name = as_str(raw.get("class_name"), "?")
        children: list[Layer] = []
        if class_name in MODEL_CLASSES or isinstance(layer_config.get("layers"), list):
            children = layers_from_config(raw, params_of, [*path, name])
        params = sum(c.params for c in children) if children else params_of([*path, name], raw)
        if sequential:
            following = raw_layers[index + 1] if index + 1 < len(raw_layers) else None
            shape = _input_shape(following) if isinstance(following, dict) else None
        else:
            shape = produced.get(name)
        rows.append(
            Layer(
                name=name,
                class_name=class_name,
                params=params,
                output_shape=_format_shape(shape or _own_output_shape(class_name, layer_config)),
                trainable=layer_config.get("trainable") if isinstance(layer_config.get("trainable"), bool) else None,
                dtype=_dtype(layer_config.get("dtype")),
                connected_to=tuple(dict.fromkeys(_inbound_names(raw.get("inbound_nodes", [])))),
                children=children,
            )
        )
    return rows


def _shapes_consumed(raw_layers: list[Any]) -> dict[str, list[Any]]:
    """layer name -> the shape its output has where another layer consumes it (Keras 3 configs)."""
    shapes: dict[str, list[Any]] = {}
    for raw in raw_layers:
        if isinstance(raw, dict):
            for tensor in _keras_tensors(raw.get("inbound_nodes", [])):
                history = as_list(tensor.get("keras_history"))
                if history and "shape" in tensor:
                    shapes.setdefault(as_str(history[0], "?"), tensor["shape"])
    return shapes


def _keras_tensors(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield as_dict(value.get("config"))
        else:
            for v in value.values():
                yield from _keras_tensors(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keras_tensors(v)


def _inbound_names(nodes: Any) -> Iterator[str]:
    """Names of the layers feeding this one, in Keras 3 (keras_history) or Keras 2 (nested lists) form."""
    for tensor in _keras_tensors(nodes):
        history = as_list(tensor.get("keras_history"))
        if history:
            yield as_str(history[0], "?")
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
                for item in node:
                    if isinstance(item, list) and item and isinstance(item[0], str):
                        yield item[0]


def _input_shape(raw: dict[str, Any]) -> list[Any] | None:
    shape = as_dict(raw.get("build_config")).get("input_shape")
    return shape if isinstance(shape, list) else None


def _own_output_shape(class_name: str, config: dict[str, Any]) -> list[Any] | None:
    """What a layer's own config says of its output: input layers and the last Dense of a model."""
    if class_name == "InputLayer":
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if isinstance(shape, dict):  # Keras 2 metadata writes tuples as {"class_name": "__tuple__", "items": [...]}
            shape = shape.get("items")
        return list(shape) if isinstance(shape, list) else None
    if class_name == "Dense" and isinstance(config.get("units"), int):
        return [None, config["units"]]
    return None


def _format_shape(shape: Any) -> str | None:
    if not isinstance(shape, list):
        return None
    dims = [d if isinstance(d, int) and not isinstance(d, bool) else None for d in shape]
    return format_shape(dims)


def _dtype(value: Any) -> str | None:
    if isinstance(value, dict):  # Keras 3 DTypePolicy
        return as_str(as_dict(value.get("config")).get("name")) or None
    return as_str(value) or None


def snake_case(class_name: str) -> str:
    """Keras' `to_snake_case`: how `.keras` weight files name a layer's group (Conv2D -> conv2d)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def custom_objects(config: Any) -> list[str]:
    """Classes in a config that Keras does not ship: loading needs their code (`custom_objects`)."""
    found: list[str] = []
    if isinstance(config, dict):
        module = config.get("module")
        registered = as_str(config.get("registered_name"))
        class_name = as_str(config.get("class_name"))
        if class_name and class_name != "__keras_tensor__":
            is_builtin = isinstance(module, str) and module.split(".")[0] == "keras"
            if (module is not None and not is_builtin) or (registered and registered != class_name):
                found.append(registered or class_name)
        for value in config.values():
            found.extend(custom_objects(value))
    elif isinstance(config, list):
        for value in config:
            found.extend(custom_objects(value))
    return list(dict.fromkeys(found))


KERAS_LOAD = "at load, only with --unsafe (safe_mode off)"
"""When a Lambda layer's code runs: keras.saving.load_model refuses it under safe mode (the default)."""


def add_unsafe_parts(info: ModelInfo, config: Any) -> None:
    """What a Keras file (.keras, .h5) holds that Keras only loads with safe_mode off: Lambda layers' bytecode
    and lookup layers' vocabulary paths (Keras 3 refuses a vocabulary file outside the archive under safe
    mode). Each is a need (--unsafe, then a question) and a finding placed KERAS_LOAD."""
    info.needs.extend(Need.lambda_layer(name) for name in lambda_layers(config))
    info.findings.extend(lambda_findings(config, KERAS_LOAD))
    vocabularies = vocabulary_findings(config, KERAS_LOAD)
    info.needs.extend(Need.local_file(str(f.target), f"the vocabulary of {f.name} {f.where}") for f in vocabularies)
    info.findings.extend(vocabularies)


def lambda_findings(config: Any, when: str) -> list[Finding]:
    """A Lambda layer holds Python bytecode (marshalled): it runs Python with safe_mode off."""
    return [Finding("Lambda", "python", None, when, f"layer {name}") for name in lambda_layers(config)]


LOOKUP_LAYERS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization"})
"""Layers whose `vocabulary` may be a path: Keras reads that file when it builds the layer from its config.
Keras itself saves a vocabulary in the config as a list, or as None with the file in the archive's assets."""


def vocabulary_findings(config: Any, when: str) -> list[Finding]:
    """A lookup layer whose config names its vocabulary by path: loading reads that file on this machine."""
    found: list[Finding] = []
    if isinstance(config, dict):
        inner = as_dict(config.get("config"))
        path = inner.get("vocabulary")
        if as_str(config.get("class_name")) in LOOKUP_LAYERS and isinstance(path, str) and path:
            name = as_str(inner.get("name"), "lookup")
            found.append(Finding(as_str(config.get("class_name")), "file_read", path, when, f"layer {name}"))
        for value in config.values():
            found.extend(vocabulary_findings(value, when))
    elif isinstance(config, list):
        for value in config:
            found.extend(vocabulary_findings(value, when))
    return found


def lambda_layers(config: Any) -> list[str]:
    """Names of Lambda layers: their Python bytecode runs only with safe_mode=False."""
    found: list[str] = []
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            found.append(as_str(as_dict(config.get("config")).get("name"), "lambda"))
        for value in config.values():
            found.extend(lambda_layers(value))
    elif isinstance(config, list):
        for value in config:
            found.extend(lambda_layers(value))
    return found
