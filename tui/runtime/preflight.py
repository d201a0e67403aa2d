"""What `tfscope run` can check from the model's metadata before TensorFlow starts (about 2.5 s):
the signature, the input names, their value sources, local files and shapes. TensorFlow checks
again when it runs; these checks only answer sooner, and name what is valid."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import DTYPE_BYTES, ModelInfo, Shape
from tui.formats.report import finding_lines
from tui.formatting import format_shape
from tui.runtime.input_checks import InputError, fits_limit
from tui.runtime.inputs import FILE_SOURCES, check_json, measure_npy
from tui.runtime.media import measure_image, measure_wav
from tui.runtime.protocol import MAX_INPUT_BYTES, InputSource

KERAS_CALL = "call"
"""The one thing a Keras model runs: the runtime calls the model (runners.KerasRunner)."""
GENERATED = {"zeros", "ones", "random", "uniform", "normal"}
SOURCES = (
    "zeros, ones, random, uniform, normal, JSON data like [[1, 2]], FILE.npy, FILE.npz:KEY, a picture "
    "(.jpg, .png, .bmp, .gif) or a clip (.wav)"
)


class FindingsRefusedError(TfscopeError):
    title = "Refused: the model acts on this machine"


def check_findings(info: ModelInfo, allowed: bool) -> None:
    """Refuse a model whose graph reads, writes or lists files, reaches the network or runs Python when
    loaded or called, unless the user said so (--allow-findings)."""
    gated = [f for f in info.findings if f.gated]
    if gated and not allowed:
        raise FindingsRefusedError(
            f"{info.uri} can act on this machine:\n" + "\n".join("  " + line for line in finding_lines(gated)),
            "Check what it does (`tfscope inspect`), and load it only if you trust who saved it: add --allow-findings.",
        )


@dataclass(frozen=True)
class Expected:
    """One input as the runtime will name it; `shape` None where the metadata does not say."""

    name: str
    dtype: str
    shape: Shape | None


def runnable(info: ModelInfo) -> dict[str, list[Expected] | None]:
    """Signature name -> its inputs, as the runtime names them; None for inputs only TensorFlow can
    tell (a Keras model whose config names no input layer)."""
    if info.kind is ArtifactKind.CHECKPOINT:
        return {}
    if info.kind in (ArtifactKind.KERAS, ArtifactKind.HDF5):
        inputs = [Expected(layer.name, layer.dtype or "float32", None) for layer in info.layers
                  if layer.class_name == "InputLayer"]  # fmt: skip
        return {KERAS_CALL: inputs or None}
    found = {s.name: [Expected(t.name, t.dtype, t.shape) for t in s.inputs] for s in info.signatures}
    return {name: found[name] for name in signature_order(found)}


def runnable_inputs(info: ModelInfo, signature: str) -> dict[str, str]:
    """`signature`'s inputs as the runtime names them, name -> dtype (empty where only TensorFlow can tell)."""
    return {e.name: e.dtype for e in runnable(info).get(signature) or []}


def signature_order(names: Iterable[str]) -> list[str]:
    """serving_default first, then by name: the order the runtime lists them in (runners.py), so the
    default (the first) is the same before and after TensorFlow loads the model."""
    return sorted(names, key=lambda name: (name != "serving_default", name))


def check_run(info: ModelInfo, signature: str | None, inputs: dict[str, InputSource],
              max_input_bytes: int = MAX_INPUT_BYTES) -> str:  # fmt: skip
    """The signature to run (the default when `signature` is None), once the request fits the model.

    Raises:
        TfscopeError: titled "Nothing to run", "No such signature" or "Bad input", naming what is valid.
    """
    signatures = runnable(info)
    if not signatures:
        raise TfscopeError(
            "A checkpoint holds values, not a graph: there is nothing to run."
            if info.kind is ArtifactKind.CHECKPOINT
            else f"{info.uri} has no signatures to run.",
            "Inspect it with `tfscope inspect`, or run the SavedModel or Keras file it belongs to.",
            title="Nothing to run",
        )
    names = list(signatures)
    chosen = signature or ("serving_default" if "serving_default" in signatures else names[0])
    if chosen not in signatures:
        raise TfscopeError(f"The model has no signature '{chosen}'.",
                           f"Pick one with --signature: {', '.join(names)}.", title="No such signature")  # fmt: skip
    expected = signatures[chosen]
    if expected is None:
        return chosen
    by_name = {e.name: e for e in expected}
    for name, source in inputs.items():
        spec = by_name.get(name)
        if spec is None:
            valid = ", ".join(by_name) or "none (it takes no inputs)"
            raise TfscopeError(f"Signature '{chosen}' has no input '{name}'.",
                               f"Its inputs: {valid}.", title="Bad input")  # fmt: skip
        _check_source(spec, source)
        try:
            _check_size(spec, source, max_input_bytes)
        except InputError as error:
            raise TfscopeError(str(error) + ".", "Fix that input; inputs are made in memory before the run.",
                               title="Bad input") from error  # fmt: skip
    return chosen


def _check_size(spec: Expected, source: InputSource, max_bytes: int) -> None:
    """The runtime's own size checks (inputs.py), before TensorFlow starts: a made-up input's shape x
    dtype, a local .npy/.npz file's array headers, JSON data's form."""
    if source.source == "json" and source.value is not None:
        check_json(spec.name, source.value, strings=spec.dtype == "string")
    if source.path is not None and not source.path.startswith("gs://"):
        measure_file(spec.name, source, source.path, max_bytes)
    shape = source.shape or (None if spec.shape is None else tuple(1 if d is None else d for d in spec.shape))
    if source.source in GENERATED and shape is not None and spec.dtype in DTYPE_BYTES:
        fits_limit(spec.name, shape, DTYPE_BYTES[spec.dtype], max_bytes)


def measure_file(name: str, source: InputSource, path: str, max_bytes: int) -> None:
    """A file input's header read before anything is decoded: a .npy/.npz's arrays, a picture's pixels,
    a WAV's frames, each within the limit (`path`: the file on this machine, a gs:// input's copy too)."""
    if source.source == "npy":
        measure_npy(name, path, source.key, max_bytes)
    elif source.source == "image":
        measure_image(name, path, max_bytes)
    elif source.source == "audio":
        measure_wav(name, path, max_bytes)


def _check_source(spec: Expected, source: InputSource) -> None:
    name = spec.name
    if source.source == "text" and spec.dtype != "string":
        raise TfscopeError(f"input '{name}' ({spec.dtype}): '{source.value}' is not a value tfscope knows.",
                           f"Give one of: {SOURCES}.", title="Bad input")  # fmt: skip
    local = source.source in FILE_SOURCES and source.path and not source.path.startswith("gs://")
    if local and not os.path.isfile(str(source.path)):
        raise TfscopeError(f"input '{name}': there is no file {source.path}.",
                           "Check the path (it is read from this machine).", title="Bad input")  # fmt: skip
    if source.shape is not None and spec.shape is not None:
        fits = len(source.shape) == len(spec.shape) and all(
            want is None or want == got for want, got in zip(spec.shape, source.shape, strict=True)
        )
        if not fits:
            raise TfscopeError(f"input '{name}' has shape {format_shape(spec.shape)}: "
                               f"{format_shape(source.shape)} does not fit it.",
                               "Give its known dims as they are and a size for each None, e.g. --shape "
                               f"{name}={','.join('1' if d is None else str(d) for d in spec.shape)}.",
                               title="Bad input")  # fmt: skip
