"""Keras v3 `.keras` files: a zip read in place through ranged reads.

Only the zip's central directory, `config.json`, `metadata.json` and the header of the stored
(uncompressed) `model.weights.h5` are fetched; the weights themselves are never read.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from typing import Any, BinaryIO, cast

from tui.errors import CorruptArtifactError
from tui.formats.keras_config import custom_objects, lambda_layers, layers_from_config, snake_case
from tui.formats.model_info import Layer, ModelInfo, Variable
from tui.formats.weights_h5 import DatasetShape, dataset_shapes, open_h5
from tui.storage import ArtifactKind, Location
from tui.storage.ranged import SliceReader

MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""config.json bigger than this (uncompressed) is refused: a zip bomb, not a model."""
WEIGHTS = "model.weights.h5"


def read_keras(location: Location, raw: BinaryIO, size: int, weights: bool = True) -> ModelInfo:
    """Read a `.keras` file from `raw`, an open (ranged) file of `size` bytes.

    `weights=False` reads the zip directory and config.json only (a few requests): layers without
    parameter counts.
    """
    info = ModelInfo(ArtifactKind.KERAS, location.uri, size=size, partial=not weights)
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptArtifactError(
            f"{location.uri} is not a zip archive ({exc}), so not a Keras v3 model.",
            "Check the upload finished; a .keras file is a zip with config.json inside.",
        ) from exc
    with archive:
        info.files = [(i.filename, i.file_size) for i in archive.infolist()]
        config = _json_member(archive, "config.json", location)
        metadata = _json_member(archive, "metadata.json", location, required=False)
        shapes = _weight_shapes(archive, raw, location) if weights else {}
    if metadata.get("keras_version"):
        info.versions["Keras"] = str(metadata["keras_version"])
    if metadata.get("date_saved"):
        info.details["Saved"] = str(metadata["date_saved"])
    info.details["Model class"] = str(config.get("class_name", "?"))
    compile_config = config.get("compile_config")
    if isinstance(compile_config, dict) and compile_config.get("optimizer"):
        info.details["Compiled with"] = _compile_summary(compile_config)
    groups = _layer_groups(config)
    info.layers = layers_from_config(config, lambda path, _raw: _params_under(shapes, groups.get(tuple(path))))
    if not info.layers:  # a subclassed model: its config lists no layers, its weights file does
        info.layers = _layers_from_weights(shapes)
    names = {group: "/".join(path) for path, group in groups.items()}
    info.variables = [_variable(path, shape, dtype, names) for path, (shape, dtype) in shapes.items()]
    info.needs.extend(f"custom object {name}" for name in custom_objects(config))
    info.needs.extend(
        f"safe_mode=False for Lambda layer {name} (runs its Python code)" for name in lambda_layers(config)
    )
    return info


def _json_member(archive: zipfile.ZipFile, name: str, location: Location, required: bool = True) -> dict[str, Any]:
    try:
        member = archive.getinfo(name)
    except KeyError:
        if not required:
            return {}
        raise CorruptArtifactError(f"{location.uri} has no {name}: it is a zip, but not a Keras v3 model.") from None
    if member.file_size > MAX_CONFIG_BYTES:
        raise CorruptArtifactError(
            f"{name} in {location.uri} claims {member.file_size:,} bytes uncompressed: refused as a likely zip bomb."
        )
    try:
        with archive.open(member) as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        value = json.loads(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise CorruptArtifactError(f"{name} in {location.uri} is damaged ({exc}).") from exc
    if not isinstance(value, dict):
        raise CorruptArtifactError(f"{name} in {location.uri} is not a JSON object.")
    return value


def _weight_shapes(archive: zipfile.ZipFile, raw: BinaryIO, location: Location) -> dict[str, DatasetShape]:
    try:
        member = archive.getinfo(WEIGHTS)
    except KeyError:
        return {}
    if member.compress_type == zipfile.ZIP_STORED:
        raw.seek(member.header_offset)
        header = raw.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise CorruptArtifactError(f"The zip entry of {WEIGHTS} in {location.uri} is damaged.")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        view = cast(BinaryIO, SliceReader(raw, member.header_offset + 30 + name_len + extra_len, member.file_size))
        with open_h5(view, f"{WEIGHTS} in {location.uri}") as h5:
            return dataset_shapes(h5)
    with archive.open(member) as compressed, open_h5(compressed, f"{WEIGHTS} in {location.uri}") as h5:  # type: ignore[arg-type]
        return dataset_shapes(h5)


def _layer_groups(config: dict[str, Any], prefix: str = "", path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Config path of layer names -> its group in model.weights.h5.

    Keras names the groups of a layer list by snake-cased class name, numbered in list order
    (`layers/conv2d`, `layers/conv2d_1`...), not by the layers' own names.
    """
    groups: dict[tuple[str, ...], str] = {}
    used: dict[str, int] = {}
    raw_layers = (config.get("config") or {}).get("layers")
    if not isinstance(raw_layers, list):
        return groups
    for raw in raw_layers:
        if not isinstance(raw, dict):
            continue
        snake = snake_case(str(raw.get("class_name", "layer")))
        if snake in used:
            used[snake] += 1
            snake = f"{snake}_{used[snake]}"
        else:
            used[snake] = 0
        name = str((raw.get("config") or {}).get("name") or raw.get("name") or snake)
        group = f"{prefix}layers/{snake}"
        groups[(*path, name)] = group
        groups.update(_layer_groups(raw, group + "/", (*path, name)))
    return groups


def _params_under(weights: dict[str, DatasetShape], group: str | None) -> int:
    if group is None:
        return 0
    return sum(math.prod(shape) for path, (shape, _) in weights.items() if path.startswith(group + "/"))


def _layers_from_weights(weights: dict[str, DatasetShape]) -> list[Layer]:
    totals: dict[str, int] = {}
    for path, (shape, _) in weights.items():
        if path.startswith("optimizer/"):
            continue
        owner = path.split("/vars/")[0]
        totals[owner] = totals.get(owner, 0) + math.prod(shape)
    return [Layer(name, "?", params) for name, params in totals.items()]


def _variable(path: str, shape: tuple[int, ...], dtype: str, names: dict[str, str]) -> Variable:
    owner, _, index = path.rpartition("/vars/")
    group = "optimizer" if path.startswith("optimizer/") else "model"
    label = f"{names.get(owner, owner)}/{index}" if index else path
    return Variable(label, shape, dtype, None, group)


def _compile_summary(compile_config: dict[str, Any]) -> str:
    optimizer = compile_config.get("optimizer")
    opt = optimizer.get("class_name") if isinstance(optimizer, dict) else optimizer
    loss = compile_config.get("loss")
    loss_name = loss.get("class_name") if isinstance(loss, dict) else loss
    return f"optimizer {opt or '-'}, loss {loss_name or '-'}"
