"""TFLite flatbuffers, parsed with the `tflite` package (generated from TF's schema, no TensorFlow).

Chosen over TF's interpreter because it needs neither TensorFlow nor a child process and answers
in milliseconds; the interpreter would also allocate every tensor just to list them.
"""

from __future__ import annotations

import functools
import struct
from collections import Counter
from typing import Any

from tui.errors import CorruptArtifactError, TfscopeError
from tui.formats.kinds import TFLITE_MAGIC, ArtifactKind
from tui.formats.limits import Budget, TooComplexError
from tui.formats.model_info import ModelInfo, Signature, TensorSpec, Variable
from tui.storage import Location, Store

MAX_TFLITE_BYTES = 512 * 1024 * 1024
"""The flatbuffer is parsed in memory; bigger files are refused rather than exhaust it."""
SCHEMA_VERSION = 3
"""Every TFLite file since 2018 says version 3 (schema.fbs); anything else is not one."""
MAX_OPERATORS = 1_000_000
"""Operators in all subgraphs together; the largest real models have tens of thousands."""
TENSOR_COST = 4
"""Work units per tensor: reading one takes several accessor calls (name, shape, buffer)."""


def read_tflite(store: Store, location: Location, size: int, budget: Budget | None = None) -> ModelInfo:
    """Read a `.tflite` flatbuffer of `size` bytes: all of it, in one request (not through a block cache,
    which would hold a second copy)."""
    if size > MAX_TFLITE_BYTES:
        raise CorruptArtifactError(
            f"{location.uri} is {size / 2**30:.1f} GB, more than tfscope parses in memory.",
            "Load it with the TFLite interpreter instead.",
            title="Model too large to inspect",
        )
    data = store.read_range(location, 0, size)
    info = ModelInfo(ArtifactKind.TFLITE, location, size=size, files=[(location.name, size)])
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise CorruptArtifactError(f"{location.uri} lacks the TFL3 identifier: not a TFLite model.")
    try:
        _fill(info, data, budget or Budget(location.uri))
    except CorruptArtifactError as error:
        if location.uri not in error.detail:
            error.detail = f"{location.uri} is a damaged TFLite file: {error.detail}"
        raise
    except TfscopeError:
        raise
    except Exception as exc:  # a damaged flatbuffer fails anywhere inside the generated accessors
        raise CorruptArtifactError(
            f"{location.uri} is a damaged TFLite flatbuffer ({type(exc).__name__}: {exc}).",
            "Check the upload finished and convert the model again.",
        ) from exc
    return info


def _fill(info: ModelInfo, data: bytes, budget: Budget) -> None:
    import tflite

    (root,) = struct.unpack_from("<I", data)
    if root < 8 or root + 4 > len(data):
        raise CorruptArtifactError(f"{info.uri}'s root table lies outside the file: not a TFLite model.")
    model = tflite.Model.GetRootAsModel(data, 0)
    # Every table or vector element takes at least 4 bytes: larger counts are corrupt. Shared vectors
    # (many tables pointing at one vector) pass that check, so each count is charged to the budget too.
    limit = len(data) // 4
    version = model.Version()
    if version != SCHEMA_VERSION:
        raise CorruptArtifactError(f"{info.uri} says TFLite schema version {version}; TFLite files say "
                                   f"{SCHEMA_VERSION}: not a TFLite model, or a damaged one.")  # fmt: skip
    info.versions["TFLite schema"] = str(version)
    description = model.Description()
    if description:
        info.details["Converter"] = description.decode("utf-8", errors="replace")
    ops = [_op_name(model.OperatorCodes(i)) for i in range(_count(model.OperatorCodesLength(), limit, budget))]
    histogram: Counter[str] = Counter()
    subgraphs = [model.Subgraphs(i) for i in range(_count(model.SubgraphsLength(), limit, budget))]
    if not subgraphs:
        raise CorruptArtifactError(f"{info.uri} has no subgraph: there is no model in it.")
    operators = sum(_count(subgraph.OperatorsLength(), limit, budget, "operators") for subgraph in subgraphs)
    if operators > MAX_OPERATORS:  # subgraphs that share one vector of operators pass every other check
        raise TooComplexError(
            f"{info.uri} claims {operators:,} operators: refused as crafted (models have thousands).",
            "If it is a real model, run it with the TFLite interpreter instead.",
        )
    for subgraph in subgraphs:
        for k in range(subgraph.OperatorsLength()):
            index = subgraph.Operators(k).OpcodeIndex()
            histogram[ops[index] if index < len(ops) else f"op#{index}"] += 1
    info.ops = dict(histogram.most_common())
    info.signatures = _signatures(model, subgraphs, limit, budget)
    info.variables = _constants(model, subgraphs, limit, budget)


def _count(n: int, limit: int, budget: Budget, what: str = "elements", cost: int = 1) -> int:
    if n < 0 or n > limit:
        raise CorruptArtifactError(f"a vector claims {n} elements in a {limit * 4}-byte file.")
    budget.spend(n * cost, on=f"TFLite {what}")
    return n


def _signatures(model: Any, subgraphs: list[Any], limit: int, budget: Budget) -> list[Signature]:
    signatures = []
    for i in range(_count(model.SignatureDefsLength(), limit, budget, "signatures")):
        sig = model.SignatureDefs(i)
        index = sig.SubgraphIndex()
        if index >= len(subgraphs):
            raise CorruptArtifactError(f"signature {i} names subgraph {index} of {len(subgraphs)}.")
        subgraph = subgraphs[index]
        inputs = tuple(_spec(sig.Inputs(j), subgraph) for j in range(_count(sig.InputsLength(), limit, budget)))
        outputs = tuple(_spec(sig.Outputs(j), subgraph) for j in range(_count(sig.OutputsLength(), limit, budget)))
        signatures.append(Signature(sig.SignatureKey().decode(), "tflite", inputs, outputs))
    if not signatures and subgraphs:  # old converters wrote no signature: the main graph's I/O is the API
        main = subgraphs[0]
        budget.spend((main.InputsLength() + main.OutputsLength()) * TENSOR_COST, on="TFLite tensors")
        inputs = tuple(_tensor_spec(main.Tensors(int(t))) for t in main.InputsAsNumpy())
        outputs = tuple(_tensor_spec(main.Tensors(int(t))) for t in main.OutputsAsNumpy())
        signatures.append(Signature("main", "tflite", inputs, outputs))
    return signatures


def _spec(tensor_map: Any, subgraph: Any) -> TensorSpec:
    spec = _tensor_spec(subgraph.Tensors(tensor_map.TensorIndex()))
    return TensorSpec(tensor_map.Name().decode(errors="replace"), spec.dtype, spec.shape, spec.quantization)


def _tensor_spec(tensor: Any) -> TensorSpec:
    shape = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else tensor.ShapeAsNumpy()
    dims = tuple(None if int(d) < 0 else int(d) for d in shape) if not isinstance(shape, int) else ()
    return TensorSpec(tensor.Name().decode(errors="replace"), _dtype(tensor.Type()), dims, _quantization(tensor))


def _quantization(tensor: Any) -> str | None:
    q = tensor.Quantization()
    if q is None or not q.ScaleLength():
        return None
    scales, zeros = q.ScaleAsNumpy(), q.ZeroPointAsNumpy()
    if len(scales) == 1:
        return f"scale={float(scales[0]):.6g} zero_point={int(zeros[0])}"
    return f"per-axis ({len(scales)} scales) on axis {q.QuantizedDimension()}"


def _constants(model: Any, subgraphs: list[Any], limit: int, budget: Budget) -> list[Variable]:
    """Tensors backed by a non-empty buffer: the model's weights, with their stored dtype."""
    out = []
    buffers = _count(model.BuffersLength(), limit, budget, "buffers")
    for subgraph in subgraphs:
        for t in range(_count(subgraph.TensorsLength(), limit, budget, "tensors", TENSOR_COST)):
            tensor = subgraph.Tensors(t)
            index = tensor.Buffer()
            if 0 < index < buffers:
                buffer = model.Buffers(index)
                if buffer.DataLength() or buffer.Size():
                    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
                    out.append(Variable(tensor.Name().decode(errors="replace"), shape, _dtype(tensor.Type()), False))
    return out


@functools.cache
def _names(enum_class: str) -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(getattr(tflite, enum_class)).items() if k.isupper()}


def _dtype(code: int) -> str:
    return _names("TensorType").get(code, f"TYPE{code}").lower()


def _op_name(opcode: Any) -> str:
    import tflite

    code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
    if code == tflite.BuiltinOperator.CUSTOM:
        return "CUSTOM:" + (opcode.CustomCode() or b"?").decode(errors="replace")
    return _names("BuiltinOperator").get(code, f"BUILTIN_{code}")
