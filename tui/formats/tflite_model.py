"""TFLite flatbuffers, parsed with the `tflite` package (generated from TF's schema, no TensorFlow).

Chosen over TF's interpreter because it needs neither TensorFlow nor a child process and answers
in milliseconds; the interpreter would also allocate every tensor just to list them.
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections import Counter
from collections.abc import Iterator
from typing import Any

from tui.errors import CorruptArtifactError, TfscopeError
from tui.formats.capabilities import capability_use, op_table
from tui.formats.kinds import TFLITE_MAGIC, ArtifactKind
from tui.formats.limits import Budget, TooComplexError
from tui.formats.model_info import NOT_REACHABLE, Finding, ModelInfo, Need, Signature, TensorSpec, Variable, when_called
from tui.formats.tflite_metadata import read_card
from tui.storage import Location, Store

MAX_TFLITE_BYTES = 512 * 1024 * 1024
"""The flatbuffer is parsed in memory; bigger files are refused rather than exhaust it."""
SCHEMA_VERSION = 3
"""Every TFLite file since 2018 says version 3 (schema.fbs); anything else is not one."""
MAX_OPERATORS = 1_000_000
"""Operators in all subgraphs together; the largest real models have tens of thousands."""
TENSOR_COST = 4
"""Work units per tensor: reading one takes several accessor calls (name, shape, buffer)."""
FLEX_PREFIX = "Flex"
"""A custom op named FlexX runs TensorFlow's op X through the Flex delegate (select TF ops)."""
INTERPRETER_CUSTOM_OPS = frozenset({"Mfcc", "AudioSpectrogram", "TFLite_Detection_PostProcess", "NumericVerify"})
"""Custom ops the stock interpreter registers itself (BuiltinOpResolver): nothing of the author's is needed."""


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
    info.card = read_card(model, data, budget.cancelled)
    custom_codes = [_custom_code(model.OperatorCodes(i)) for i in range(len(ops))]
    if any(custom_codes):
        _custom_ops(info, model, subgraphs, custom_codes, budget)


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


def _custom_code(opcode: Any) -> str:
    """An operator code's custom op name; empty for a builtin."""
    import tflite

    if max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode()) != tflite.BuiltinOperator.CUSTOM:
        return ""
    return (opcode.CustomCode() or b"").decode(errors="replace")


def _custom_ops(info: ModelInfo, model: Any, subgraphs: list[Any], codes: list[str], budget: Budget) -> None:
    """Flex ops that can reach outside the model are findings; other custom ops are needs.

    A Flex op runs a TensorFlow op (the interpreter links the Flex delegate when the model has one), so
    FlexReadFile reads a file with nothing more from the user: a finding, like the op in a SavedModel.
    Any other custom op runs only if the user registers a kernel of that name with the interpreter:
    the model cannot make it do anything by itself, and the code that runs is the user's. So it is a
    need (like a Keras custom object), not a finding that gates loading. TFLite has no load-time code
    (CALL_ONCE initialisers run on the first invoke), so every finding is "when called" or unreachable.
    """
    table = op_table()
    callers: list[list[str]] | None = None  # per subgraph, the signatures that run it
    needed: set[str] = set()
    for place, subgraph in enumerate(subgraphs):
        for k in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(k)
            index = operator.OpcodeIndex()
            code = codes[index] if index < len(codes) else ""
            if not code:
                continue
            if not code.startswith(FLEX_PREFIX):
                if code not in INTERPRETER_CUSTOM_OPS:
                    needed.add(code)
                continue
            named, node = _flex_node_def(operator)
            # The delegate runs the op its options name, with the NodeDef's attributes; the custom code
            # and the NodeDef's own op name should agree. Where a crafted file makes them differ, the
            # first of them that can reach outside is the one reported.
            names = [named, node.op if node is not None else "", code.removeprefix(FLEX_PREFIX)]
            op = next((name for name in names if name in table.ops), "")
            if not op:
                continue
            capability = table.ops[op]
            budget.spend(1, on="capability ops")
            attrs = node.attr if node is not None else {}
            used = capability_use(op, capability, attrs, functools.partial(_input_string, model, subgraph, operator))
            if used is None:
                continue
            if callers is None:
                callers = _subgraph_callers(model, subgraphs, budget)
            when = when_called(callers[place]) if callers[place] else NOT_REACHABLE
            info.findings.append(Finding(op, used[0], used[1], when, f"subgraph {place} op {k}"))
    info.needs.extend(
        Need("custom_object", f"TFLite custom op {name} (its kernel must be registered with the interpreter)")
        for name in sorted(needed)
    )


def _flex_node_def(operator: Any) -> tuple[str, Any]:
    """What a Flex op's custom options hold (a FlexBuffer vector): the name of the op the delegate runs,
    and a NodeDef with its attributes. ("", None) where they do not parse."""
    from flatbuffers import flexbuffers
    from tensorboard.compat.proto import node_def_pb2

    try:
        fields = flexbuffers.GetRoot(bytes(operator.CustomOptionsAsNumpy())).AsVector
        name = fields[0].AsStringBytes.decode("utf-8", "replace")
        node = node_def_pb2.NodeDef()
        node.ParseFromString(fields[1].AsStringBytes)
    except Exception:  # crafted options fail anywhere in the FlexBuffer reader: then only the code is known
        return "", None
    return name, node


def _input_string(model: Any, subgraph: Any, operator: Any, position: int) -> str | None:
    """The string an operator's input holds where it is a constant tensor: TFLite's string layout is
    a count, count + 1 offsets, then the bytes."""
    if not 0 <= position < operator.InputsLength():
        return None
    tensor_index = int(operator.Inputs(position))
    if not 0 <= tensor_index < subgraph.TensorsLength():
        return None
    tensor = subgraph.Tensors(tensor_index)
    if not 0 < tensor.Buffer() < model.BuffersLength():
        return None
    data = bytes(model.Buffers(tensor.Buffer()).DataAsNumpy()) if model.Buffers(tensor.Buffer()).DataLength() else b""
    if len(data) < 8:
        return None
    (count,) = struct.unpack_from("<i", data)
    if not 0 < count <= (len(data) - 8) // 4:
        return None
    offsets = struct.unpack_from(f"<{count + 1}i", data, 4)
    spans = list(itertools.pairwise(offsets))
    if not all(0 <= a <= b <= len(data) for a, b in spans):
        return None
    return ", ".join(data[a:b].decode("utf-8", "replace") for a, b in spans)


def _subgraph_callers(model: Any, subgraphs: list[Any], budget: Budget) -> list[list[str]]:
    """Per subgraph, the signatures that run it: their own subgraph, and those its control flow ops
    (WHILE, IF, CALL_ONCE, StableHLO regions) name, transitively. Without signatures, subgraph 0 is
    "main", as the signatures list says."""
    entries = [(model.SignatureDefs(i).SignatureKey().decode(errors="replace"), model.SignatureDefs(i).SubgraphIndex())
               for i in range(model.SignatureDefsLength())] or [("main", 0)]  # fmt: skip
    called = [sorted(set(_called_subgraphs(subgraph, budget))) for subgraph in subgraphs]
    callers: list[list[str]] = [[] for _ in subgraphs]
    for name, start in entries:
        seen: set[int] = set()
        todo = [start]
        while todo:
            index = todo.pop()
            if index in seen or not 0 <= index < len(subgraphs):
                continue
            seen.add(index)
            callers[index].append(name)
            todo.extend(called[index])
    return callers


def _called_subgraphs(subgraph: Any, budget: Budget) -> Iterator[int]:
    """The subgraphs an operator's options name (any `...Subgraph...` field of its builtin options)."""
    import tflite

    for k in range(subgraph.OperatorsLength()):
        budget.spend(1, on="TFLite operators")
        operator = subgraph.Operators(k)
        unions = [
            (operator.BuiltinOptionsType(), operator.BuiltinOptions(), "BuiltinOptions"),
            (operator.BuiltinOptions2Type(), operator.BuiltinOptions2(), "BuiltinOptions2"),
        ]
        for kind, table, enum in unions:
            fields = _subgraph_fields(enum).get(kind)
            if not fields or table is None:
                continue
            options = getattr(tflite, _option_names(enum)[kind])()
            options.Init(table.Bytes, table.Pos)
            yield from (int(getattr(options, field)()) for field in fields)


@functools.cache
def _option_names(enum: str) -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(getattr(tflite, enum)).items() if not k.startswith("_") and isinstance(v, int)}


@functools.cache
def _subgraph_fields(enum: str) -> dict[int, tuple[str, ...]]:
    """Per options type, the accessors that return a subgraph index (WhileOptions: body and cond)."""
    import tflite

    fields = {}
    for kind, name in _option_names(enum).items():
        cls = getattr(tflite, name, None)
        names = tuple(f for f in dir(cls) if "Subgraph" in f and not f.startswith("_")) if cls else ()
        if names:
            fields[kind] = names
    return fields
