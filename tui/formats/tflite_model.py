"""TFLite flatbuffers, parsed with the `tflite` package (generated from TF's schema, no TensorFlow).

Chosen over TF's interpreter because it needs neither TensorFlow nor a child process and answers
in milliseconds; the interpreter would also allocate every tensor just to list them.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from tui.errors import CorruptArtifactError
from tui.formats.model_info import ModelInfo, Signature, TensorSpec, Variable
from tui.storage import ArtifactKind, Location, Store
from tui.storage.detect import TFLITE_MAGIC

MAX_TFLITE_BYTES = 512 * 1024 * 1024
"""The flatbuffer is parsed in memory; bigger files are refused rather than exhaust it."""


def read_tflite(store: Store, location: Location, size: int) -> ModelInfo:
    """Read a `.tflite` flatbuffer of `size` bytes: all of it, in one request (not through a block cache,
    which would hold a second copy)."""
    if size > MAX_TFLITE_BYTES:
        raise CorruptArtifactError(
            f"{location.uri} is {size / 2**30:.1f} GB, more than tfscope parses in memory.",
            "Load it with the TFLite interpreter instead.",
            title="Model too large to inspect",
        )
    data = store.read_range(location, 0, size)
    info = ModelInfo(ArtifactKind.TFLITE, location.uri, size=size, files=[(location.name, size)])
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise CorruptArtifactError(f"{location.uri} lacks the TFL3 identifier: not a TFLite model.")
    try:
        _fill(info, data)
    except CorruptArtifactError:
        raise
    except Exception as exc:  # a damaged flatbuffer fails anywhere inside the generated accessors
        raise CorruptArtifactError(
            f"{location.uri} is a damaged TFLite flatbuffer ({type(exc).__name__}: {exc}).",
            "Check the upload finished and convert the model again.",
        ) from exc
    return info


def _fill(info: ModelInfo, data: bytes) -> None:
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    limit = len(data) // 4  # every table or vector element takes at least 4 bytes: larger counts are corrupt
    info.versions["TFLite schema"] = str(model.Version())
    description = model.Description()
    if description:
        info.details["Converter"] = description.decode("utf-8", errors="replace")
    ops = [_op_name(model.OperatorCodes(i)) for i in range(_count(model.OperatorCodesLength(), limit))]
    histogram: Counter[str] = Counter()
    subgraphs = [model.Subgraphs(i) for i in range(_count(model.SubgraphsLength(), limit))]
    for subgraph in subgraphs:
        for k in range(_count(subgraph.OperatorsLength(), limit)):
            index = subgraph.Operators(k).OpcodeIndex()
            histogram[ops[index] if index < len(ops) else f"op#{index}"] += 1
    info.ops = dict(histogram.most_common())
    info.signatures = _signatures(model, subgraphs, limit)
    info.variables = _constants(model, subgraphs, limit)


def _count(n: int, limit: int) -> int:
    if n < 0 or n > limit:
        raise CorruptArtifactError(f"a vector claims {n} elements in a {limit * 4}-byte file.")
    return n


def _signatures(model: Any, subgraphs: list[Any], limit: int) -> list[Signature]:
    signatures = []
    for i in range(_count(model.SignatureDefsLength(), limit)):
        sig = model.SignatureDefs(i)
        subgraph = subgraphs[sig.SubgraphIndex()]
        inputs = tuple(_spec(sig.Inputs(j), subgraph) for j in range(_count(sig.InputsLength(), limit)))
        outputs = tuple(_spec(sig.Outputs(j), subgraph) for j in range(_count(sig.OutputsLength(), limit)))
        signatures.append(Signature(sig.SignatureKey().decode(), "tflite", inputs, outputs))
    if not signatures and subgraphs:  # old converters wrote no signature: the main graph's I/O is the API
        main = subgraphs[0]
        inputs = tuple(_tensor_spec(main.Tensors(int(t))) for t in main.InputsAsNumpy())
        outputs = tuple(_tensor_spec(main.Tensors(int(t))) for t in main.OutputsAsNumpy())
        signatures.append(Signature("main", "tflite", inputs, outputs))
    return signatures


def _spec(tensor_map: Any, subgraph: Any) -> TensorSpec:
    spec = _tensor_spec(subgraph.Tensors(tensor_map.TensorIndex()))
    return TensorSpec(tensor_map.Name().decode(), spec.dtype, spec.shape, spec.quantization)


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


def _constants(model: Any, subgraphs: list[Any], limit: int) -> list[Variable]:
    """Tensors backed by a non-empty buffer: the model's weights, with their stored dtype."""
    out = []
    buffers = _count(model.BuffersLength(), limit)
    for subgraph in subgraphs:
        for t in range(_count(subgraph.TensorsLength(), limit)):
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
