"""The one shape every reader returns: plain dataclasses, no library types."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tui.formats.kinds import ArtifactKind
from tui.formatting import printable
from tui.storage.uri import Location

T = TypeVar("T")

DTYPE_BYTES = {
    "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "half": 2, "double": 8,
    "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8,
    "bool": 1, "complex64": 8, "complex128": 16, "qint8": 1, "quint8": 1, "qint32": 4, "int4": 1, "uint4": 1,
}  # fmt: skip
"""Bytes per element of each dtype, by TensorFlow's name. Strings and resources have no fixed size."""


Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: `shape` is None when even the rank is unknown; None dims are unknown."""

    name: str
    dtype: str
    shape: Shape | None
    quantization: str | None = None
    """For TFLite: "scale=0.0039 zero_point=-128" when the tensor is quantized."""


@dataclass(frozen=True)
class Signature:
    name: str
    method: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass
class Layer:
    """A row of a Keras-style summary; nested models carry their own layers in `children`."""

    name: str
    class_name: str
    params: int = 0
    output_shape: str | None = None
    trainable: bool | None = None
    dtype: str | None = None
    connected_to: tuple[str, ...] = ()
    children: list[Layer] = field(default_factory=list)


@dataclass(frozen=True)
class Variable:
    """A weight. `group` is "model", "optimizer" (slots, iteration counters) or "other"."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool | None = None
    group: str = "model"
    model_path: str | None = None
    """A checkpoint key that is not the variable's path through the model (a Keras 3 optimizer tracks the
    model's weights, so TF may save a kernel as optimizer/_trainable_variables/0): that path."""

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int | None:
        per = DTYPE_BYTES.get(self.dtype)
        return None if per is None else per * self.size


@dataclass(frozen=True)
class Need:
    """Something loading the model requires beyond the usual.

    `kind` is for machines: `custom_object` (classes from the author's code), `unsafe_deserialization`
    (Keras Lambda layers: Python bytecode in the file), `python_function` (graph ops that call Python
    functions not saved in the model), `local_file` (HDF5 links and external storage that read files
    on this machine). `detail` is for people.
    """

    kind: str
    detail: str

    CONSENT_KINDS = frozenset({"unsafe_deserialization", "local_file"})
    """Kinds that run code from the file or reach outside it: loaded only with --unsafe, after a yes."""

    @property
    def needs_consent(self) -> bool:
        return self.kind in self.CONSENT_KINDS

    @classmethod
    def custom_object(cls, name: str) -> Need:
        return cls("custom_object", f"custom object {name}")

    @classmethod
    def lambda_layer(cls, name: str) -> Need:
        return cls("unsafe_deserialization", f"safe_mode=False for Lambda layer {name} (runs its Python code)")

    @classmethod
    def local_file(cls, target: str, how: str) -> Need:
        return cls("local_file", f"reading {target} on this machine ({how})")


AT_LOAD = "at load"
WHEN_CALLED = "when called: "
NOT_REACHABLE = "not reachable"
UNSEEN_GRAPH = "unseen_graph"
"""A Finding's capability for a graph that runs but that tfscope cannot read (a computed GraphDef): it may
do anything the others name."""
MAX_CALLERS_SHOWN = 3


def when_called(callers: Iterable[str]) -> str:
    """`when called: a, b, c +2 more`: the callers sorted, the first MAX_CALLERS_SHOWN named."""
    names = sorted(set(callers))
    more = len(names) - MAX_CALLERS_SHOWN
    return WHEN_CALLED + ", ".join(names[:MAX_CALLERS_SHOWN]) + (f" +{more} more" if more > 0 else "")


@dataclass(frozen=True)
class Finding:
    """Something the model can do to the machine it runs on, and when (see formats/capabilities.py)."""

    name: str
    """The op type (`ReadFile`), or the Keras layer class (`Lambda`)."""
    capability: str
    """file_read, file_write, file_list, file_map, network, stream, python or unseen_graph."""
    target: str | None
    """The file, pattern, address or stream, where the model holds it as a constant."""
    when: str
    """`at load`, `when called: serving_default` (signatures, else the object graph's functions by path:
    `model.__call__`; see when_called), or `not reachable`."""
    where: str
    """The function and node (or the layer path) it is in."""

    GATED = frozenset({"file_read", "file_write", "file_list", "file_map", "network", "python", "unseen_graph"})
    """Capabilities that keep a model from loading until the user agrees (a stream to the console does not)."""

    @property
    def gated(self) -> bool:
        """Loading waits for the user's yes. Not for code that cannot run (unreachable), nor for Lambda
        layers, whose code runs only with --unsafe, which asks already."""
        return self.capability in self.GATED and (self.when == AT_LOAD or self.when.startswith(WHEN_CALLED))


def walk_layers(layers: list[Layer]) -> Iterator[Layer]:
    """Every layer, nested models' layers included, parents first."""
    for layer in layers:
        yield layer
        yield from walk_layers(layer.children)


@dataclass(frozen=True)
class AttachedFile:
    """A file a model carries for its users (TFLite: zipped after the flatbuffer): labels, a vocabulary."""

    name: str
    kind: str
    """"labels", "value labels", "vocabulary", "descriptions", "score calibration", "index" or "file"."""
    size: int | None = None
    """Bytes, uncompressed; None when the file is named but not attached."""
    description: str = ""
    locale: str = ""


@dataclass(frozen=True)
class TensorNote:
    """What a model's metadata says of one input or output."""

    name: str
    description: str = ""
    content: str = ""
    """"image RGB 224x224", "audio 16000 Hz, 1 channel", "feature", "bounding boxes"..."""
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    """Normalization: the model takes (value - mean) / std, per channel (or one for all)."""
    value_range: tuple[int, int] | None = None
    sample_rate: int | None = None
    """Audio: the samples a second the model takes."""
    files: tuple[AttachedFile, ...] = ()
    labels: tuple[str, ...] = ()
    """The class names of its `labels` file, when the model carries one (at most MAX_LABELS)."""


@dataclass(frozen=True)
class ModelCard:
    """What a model says about itself (TFLite Metadata): who made it, under what license, what its tensors
    hold and how to feed them."""

    name: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""
    min_parser_version: str = ""
    inputs: tuple[TensorNote, ...] = ()
    outputs: tuple[TensorNote, ...] = ()
    files: tuple[AttachedFile, ...] = ()
    """Files of the model as a whole (and of its subgraph)."""
    problem: str = ""
    """Why the metadata could not be read in full (damaged, crafted); what was read stays."""


@dataclass
class ModelInfo:
    """What a model is, read from its bytes without TensorFlow."""

    kind: ArtifactKind
    location: Location
    """Where it was read: what loading downloads (never re-parsed from a printed URI)."""
    size: int = 0
    """Bytes on storage, all files together."""
    files: list[tuple[str, int]] = field(default_factory=list)
    """(path relative to the artifact, size) of each file."""
    versions: dict[str, str] = field(default_factory=dict)
    tag_sets: list[tuple[str, ...]] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    """Format-specific facts: compile config, fingerprint, checkpoint paths..."""
    needs: list[Need] = field(default_factory=list)
    """What loading it requires beyond the usual: custom objects, unsafe deserialization, Python code."""
    findings: list[Finding] = field(default_factory=list)
    """What it can do to this machine (files, network, streams, Python), and when: see capabilities.py."""
    bytes_read: int | None = None
    """Bytes fetched from storage to build this, when the store counts them (GCS does)."""
    requests: int | None = None
    """Requests made to storage to build this, when the store counts them."""
    partial: bool = False
    """Read from the config alone: parameter counts and variables are still being read (see inspect_model)."""
    card: ModelCard | None = None
    """What the model says about itself, when it carries metadata (TFLite Metadata)."""

    @property
    def needs_consent(self) -> list[Need]:
        """What loading it would do that the user must agree to first (see Need.CONSENT_KINDS)."""
        return [n for n in self.needs if n.needs_consent]

    @property
    def model_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.group == "model"]

    @property
    def total_params(self) -> int:
        if self.model_variables:
            return sum(v.size for v in self.model_variables)
        return sum(layer.params for layer in self.layers)

    @property
    def uri(self) -> str:
        return self.location.uri

    def params_by_dtype(self) -> dict[str, tuple[int, int | None]]:
        """dtype -> (parameter count, bytes) over the model's variables."""
        out: dict[str, tuple[int, int | None]] = {}
        for v in self.model_variables:
            count, nbytes = out.get(v.dtype, (0, 0))
            out[v.dtype] = (count + v.size, None if nbytes is None or v.nbytes is None else nbytes + v.nbytes)
        return out


def printable_copy(value: T) -> T:
    """A copy of a ModelInfo (or any part of one) whose every string is printable.

    Layer, signature and variable names come from files others wrote: an ESC in one would reach the
    terminal. A signature whose name held a control character cannot be run by its shown name.
    """
    result: Any = value
    if isinstance(value, enum.Enum | Location):  # a location stays exact: it is what loading fetches
        result = value
    elif isinstance(value, str):
        result = printable(value)
    elif isinstance(value, list):
        result = [printable_copy(v) for v in value]
    elif isinstance(value, tuple):
        result = tuple(printable_copy(v) for v in value)
    elif isinstance(value, dict):
        result = {printable_copy(k): printable_copy(v) for k, v in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: printable_copy(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        result = dataclasses.replace(value, **changes)
    return result  # type: ignore[no-any-return]
