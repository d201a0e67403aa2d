"""Keras v3 `.keras` files: a zip read in place through ranged reads.

Only the zip's central directory, `config.json`, `metadata.json` and the header of the stored
(uncompressed) `model.weights.h5` are fetched; the weights themselves are never read.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from typing import Any, BinaryIO, cast

from tui.errors import CorruptArtifactError
from tui.formats.keras_config import (
    add_unsafe_parts,
    custom_objects,
    layers_from_config,
    snake_case,
)
from tui.formats.kinds import ArtifactKind
from tui.formats.limits import Budget, as_dict, as_str, parse_json
from tui.formats.model_info import Layer, ModelInfo, Need, Variable
from tui.formats.weights_h5 import DatasetShape, note_links, read_h5, shapes_of
from tui.storage import Location
from tui.storage.ranged import SliceReader

MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""config.json bigger than this (uncompressed) is refused: a zip bomb, not a model."""
MAX_INFLATED_WEIGHTS = 256 * 1024 * 1024
"""A compressed model.weights.h5 (Keras stores it uncompressed) is inflated in memory up to this size."""
BOMB_RATIO = 100
"""Inflated/compressed past this (and past MAX_CONFIG_BYTES) is a zip bomb: weights compress ~1.1:1."""
MAX_MEMBERS = 100_000
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error)
"""What zipfile raises on a damaged archive (NotImplementedError: an extract version or method it lacks)."""
WEIGHTS = "model.weights.h5"


def read_keras(
    location: Location, raw: BinaryIO, size: int, weights: bool = True, budget: Budget | None = None
) -> ModelInfo:
    """Read a `.keras` file from `raw`, an open (ranged) file of `size` bytes.

    `weights=False` reads the zip directory and config.json only (a few requests): layers without
    parameter counts.
    """
    budget = budget or Budget(location.uri)
    info = ModelInfo(ArtifactKind.KERAS, location, size=size, partial=not weights)
    try:
        archive = zipfile.ZipFile(raw)
    except ZIP_ERRORS as exc:
        raise CorruptArtifactError(
            f"{location.uri} is not a zip archive ({exc}), so not a Keras v3 model.",
            "Check the upload finished; a .keras file is a zip with config.json inside.",
        ) from exc
    with archive:
        members = archive.infolist()
        budget.spend(len(members), on="zip members")
        if len(members) > MAX_MEMBERS:
            raise CorruptArtifactError(f"{location.uri} holds {len(members):,} files: not a Keras model.")
        info.files = [(i.filename, i.file_size) for i in members]
        config = _json_member(archive, "config.json", location)
        metadata = _json_member(archive, "metadata.json", location, required=False)
        shapes = _weight_shapes(archive, raw, size, location, info, budget) if weights else {}
    if as_str(metadata.get("keras_version")):
        info.versions["Keras"] = as_str(metadata["keras_version"])
    if as_str(metadata.get("date_saved")):
        info.details["Saved"] = as_str(metadata["date_saved"])
    info.details["Model class"] = as_str(config.get("class_name"), "?")
    compile_config = config.get("compile_config")
    if isinstance(compile_config, dict) and compile_config.get("optimizer"):
        info.details["Compiled with"] = _compile_summary(compile_config)
    groups = _layer_groups(config)
    totals = _totals_by_prefix(shapes)
    info.layers = layers_from_config(config, lambda path, _raw: totals.get(groups.get(tuple(path)) or "", 0))
    if not info.layers:  # a subclassed model: its config lists no layers, its weights file does
        info.layers = _layers_from_weights(shapes)
    names = {group: "/".join(path) for path, group in groups.items()}
    info.variables = [_variable(path, shape, dtype, names) for path, (shape, dtype) in shapes.items()]
    info.needs.extend(Need.custom_object(name) for name in custom_objects(config))
    add_unsafe_parts(info, config)
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
    except ZIP_ERRORS as exc:
        raise CorruptArtifactError(f"{name} in {location.uri} is damaged ({exc}).") from exc
    value = parse_json(data, f"{name} in {location.uri}")
    if not isinstance(value, dict):
        raise CorruptArtifactError(f"{name} in {location.uri} is not a JSON object.")
    return value


def _weight_shapes(
    archive: zipfile.ZipFile, raw: BinaryIO, size: int, location: Location, info: ModelInfo, budget: Budget
) -> dict[str, DatasetShape]:
    try:
        member = archive.getinfo(WEIGHTS)
    except KeyError:
        return {}
    what = f"{WEIGHTS} in {location.uri}"
    if member.compress_type == zipfile.ZIP_STORED:
        raw.seek(member.header_offset)
        header = raw.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise CorruptArtifactError(f"The zip entry of {what} is damaged.")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = member.header_offset + 30 + name_len + extra_len
        if start + member.file_size > size:
            raise CorruptArtifactError(f"{what} claims {member.file_size:,} bytes, past the end of the file.")
        return _shapes(cast(BinaryIO, SliceReader(raw, start, member.file_size)), member.file_size, what, info, budget)
    # Keras stores its weights uncompressed; a compressed copy (re-zipped by some tool) is inflated in
    # memory, bounded, since HDF5 seeks back and forth and a deflate stream can only go forward.
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > MAX_CONFIG_BYTES and ratio > BOMB_RATIO:
        raise CorruptArtifactError(
            f"{what} is {member.compress_size:,} bytes that claim to inflate to {member.file_size:,} "
            f"({ratio:,.0f}:1): refused as a likely zip bomb (weights compress about 1.1:1).",
            "Re-save the model with Keras (it stores the weights uncompressed).",
        )
    if member.file_size > MAX_INFLATED_WEIGHTS:
        info.details["Parameters"] = (
            f"not counted: {WEIGHTS} is compressed ({member.file_size / 2**20:,.0f} MB to inflate)"
        )
        return {}
    try:
        with archive.open(member) as compressed:
            data = compressed.read(MAX_INFLATED_WEIGHTS + 1)
    except ZIP_ERRORS as exc:
        raise CorruptArtifactError(f"{what} is damaged ({exc}).") from exc
    return _shapes(io.BytesIO(data), len(data), what, info, budget)


def _shapes(weights: BinaryIO, size: int, what: str, info: ModelInfo, budget: Budget) -> dict[str, DatasetShape]:
    answer = read_h5(weights, size, what, budget, groups=("/",))
    note_links(answer, info)
    return shapes_of(answer, "/")


def _layer_groups(config: dict[str, Any], prefix: str = "", path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Config path of layer names -> its group in model.weights.h5.

    Keras names the groups of a layer list by snake-cased class name, numbered in list order
    (`layers/conv2d`, `layers/conv2d_1`...), not by the layers' own names.
    """
    groups: dict[tuple[str, ...], str] = {}
    used: dict[str, int] = {}
    raw_layers = as_dict(config.get("config")).get("layers")
    if not isinstance(raw_layers, list):
        return groups
    for raw in raw_layers:
        if not isinstance(raw, dict):
            continue
        snake = snake_case(as_str(raw.get("class_name"), "layer"))
        if snake in used:
            used[snake] += 1
            snake = f"{snake}_{used[snake]}"
        else:
            used[snake] = 0
        name = as_str(as_dict(raw.get("config")).get("name")) or as_str(raw.get("name")) or snake
        group = f"{prefix}layers/{snake}"
        groups[(*path, name)] = group
        groups.update(_layer_groups(raw, group + "/", (*path, name)))
    return groups


def _totals_by_prefix(weights: dict[str, DatasetShape]) -> dict[str, int]:
    """Every group path ("layers/dense", "layers/functional/layers/dense") -> parameters under it."""
    totals: dict[str, int] = {}
    for path, (shape, _) in weights.items():
        size = math.prod(shape)
        group = path
        while "/" in group:
            group = group.rsplit("/", 1)[0]
            totals[group] = totals.get(group, 0) + size
    return totals


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
    opt = as_str(as_dict(optimizer).get("class_name")) if isinstance(optimizer, dict) else as_str(optimizer)
    loss = compile_config.get("loss")
    loss_name = as_str(as_dict(loss).get("class_name")) if isinstance(loss, dict) else as_str(loss)
    return f"optimizer {opt or '-'}, loss {loss_name or '-'}"
