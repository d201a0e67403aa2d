"""What the app and the TensorFlow child say to each other: typed on this side, JSON lines on the pipe.

The host sends `{"op": ..., **args}`; the child answers `{"ok": true, "result": {...}}`, `{"ok": false,
"error": {"title", "detail", "fix"}}`, or events (`{"event": "phase", "phase": ...}`) before its answer.
This module is the one place where those dicts become dataclasses (`*.from_json`) and where a run's
result becomes the JSON `tfscope run --json` prints (`RunResult.to_json`). No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIFELINE_ENV = "TFSCOPE_LIFELINE_FD"
"""A pipe whose other end only the host holds: when it closes, the host is gone, and so is the child."""
LOGICAL_CPUS_ENV = "TFSCOPE_LOGICAL_CPUS"
"""Split the CPU into this many logical devices (tests and demos of placement without a GPU)."""
DEVICE_LISTING_ENV = "TFSCOPE_DEVICE_LISTING"
"""A JSON file whose content replaces the child's device listing: how GPU/TPU rendering is tested."""


@dataclass(frozen=True)
class InputSpec:
    """One input of a loaded signature, as TensorFlow reports it (None dims are unknown)."""

    name: str
    dtype: str
    shape: tuple[int | None, ...] | None
    quantization: tuple[float, int] | None = None
    """TFLite: (scale, zero_point) of a quantized integer input; real = (value - zero_point) * scale."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InputSpec:
        shape, q = raw.get("shape"), raw.get("quantization")
        quantization = None if q is None else (float(q[0]), int(q[1]))
        return cls(str(raw["name"]), str(raw["dtype"]), None if shape is None else tuple(shape), quantization)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype,
                               "shape": None if self.shape is None else list(self.shape)}  # fmt: skip
        if self.quantization is not None:
            out["quantization"] = list(self.quantization)
        return out


@dataclass(frozen=True)
class RuntimeSignature:
    """Something the loaded model can run: a SavedModel signature, a Keras model's call, a TFLite runner."""

    name: str
    inputs: tuple[InputSpec, ...]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RuntimeSignature:
        return cls(str(raw["name"]), tuple(InputSpec.from_json(i) for i in raw.get("inputs", [])))


@dataclass(frozen=True)
class Loaded:
    """A model restored in the child."""

    kind: str
    signatures: tuple[RuntimeSignature, ...]
    tensorflow: str = ""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Loaded:
        signatures = tuple(RuntimeSignature.from_json(s) for s in raw.get("signatures", []))
        return cls(str(raw.get("kind", "")), signatures, str(raw.get("tensorflow", "")))


@dataclass(frozen=True)
class Device:
    """A physical or logical device; GPU fields are empty elsewhere."""

    name: str
    type: str
    model: str = ""
    compute_capability: str = ""
    memory_in_use: int | None = None
    memory_peak: int | None = None
    memory_total: int | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Device:
        def number(key: str) -> int | None:
            value = raw.get(key)
            return int(value) if isinstance(value, int | float) else None

        return cls(str(raw.get("name", "")), str(raw.get("type", "")), str(raw.get("model", "") or ""),
                   str(raw.get("compute_capability", "") or ""), number("memory_in_use"), number("memory_peak"),
                   number("memory_total"))  # fmt: skip

    @property
    def short_name(self) -> str:
        """'/device:GPU:0' -> 'GPU:0', as placement and results name devices."""
        return self.name.rsplit("device:", 1)[-1] if "device:" in self.name else self.name.lstrip("/")


@dataclass(frozen=True)
class Devices:
    physical: tuple[Device, ...] = ()
    logical: tuple[Device, ...] = ()
    tpu: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Devices:
        tpu = raw.get("tpu")
        return cls(tuple(Device.from_json(d) for d in raw.get("physical", [])),
                   tuple(Device.from_json(d) for d in raw.get("logical", [])),
                   tpu if isinstance(tpu, dict) else None)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        def device(d: Device) -> dict[str, Any]:
            out: dict[str, Any] = {"name": d.name, "type": d.type}
            for key in ("model", "compute_capability", "memory_in_use", "memory_peak", "memory_total"):
                if getattr(d, key) not in ("", None):
                    out[key] = getattr(d, key)
            return out

        return {"physical": [device(d) for d in self.physical], "logical": [device(d) for d in self.logical],
                "tpu": self.tpu}  # fmt: skip


@dataclass(frozen=True)
class Placement:
    """Where the loaded model's variables live, and the device the last inference ran on."""

    variables: tuple[tuple[str, str, int], ...] = ()
    """(name, device, bytes) of each variable."""
    totals: dict[str, int] = field(default_factory=dict)
    """device -> bytes of variables on it."""
    last_inference_device: str = ""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Placement:
        variables = tuple((str(v["name"]), str(v["device"]), int(v["bytes"])) for v in raw.get("variables", []))
        totals = {str(k): int(v) for k, v in raw.get("totals", {}).items()}
        return cls(variables, totals, str(raw.get("last_inference_device", "")))

    def count_on(self, device: str) -> int:
        return sum(1 for _, where, _ in self.variables if where == device)


@dataclass(frozen=True)
class InputSource:
    """Where one input's value comes from (see inputs.source_from_text): the wire form is a dict."""

    source: str = "zeros"
    value: str | None = None
    path: str | None = None
    key: str | None = None
    shape: tuple[int, ...] | None = None
    seed: int = 0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    """A picture's normalization: the model gets (pixel - mean) / std (see runtime/media.py)."""
    rate: int | None = None
    """The sample rate a clip is resampled to (what the model declares)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "seed": self.seed}
        for key in ("value", "path", "key", "rate"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("mean", "std"):
            if getattr(self, key) is not None:
                out[key] = list(getattr(self, key))
        if self.shape is not None:
            out["shape"] = list(self.shape)
        return out


MAX_INPUT_BYTES = 1_000_000_000
"""The most one inference input may take (1 GB) unless the user raises it (`--max-input-mb`)."""


@dataclass(frozen=True)
class RunRequest:
    signature: str
    inputs: dict[str, InputSource] = field(default_factory=dict)
    device: str | None = None
    repeat: int = 10
    save_dir: str | None = None
    """A folder (made by the caller, empty) to write every output into as `<output>.npy`."""
    max_input_bytes: int = MAX_INPUT_BYTES

    def to_json(self) -> dict[str, Any]:
        return {"signature": self.signature, "inputs": {k: v.to_json() for k, v in self.inputs.items()},
                "device": self.device, "repeat": self.repeat, "save_dir": self.save_dir,
                "max_input_bytes": self.max_input_bytes}  # fmt: skip


@dataclass(frozen=True)
class OutputStats:
    """One output: its shape and dtype, and for numbers the range, moments, NaN/Inf counts and more."""

    shape: tuple[int, ...]
    dtype: str
    preview: tuple[Any, ...] = ()
    """The first values (floats, or text for strings)."""
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    nan: int = 0
    inf: int = 0
    histogram: tuple[tuple[int, ...], tuple[float, ...]] | None = None
    """(counts, edges) over 10 bins."""
    top5: tuple[tuple[int, float], ...] = ()
    """(class, score) of the first row, for [batch, classes] outputs."""
    numeric: bool = True
    """False for strings: no range, no NaN counts."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OutputStats:
        histogram = raw.get("histogram")
        return cls(
            shape=tuple(int(d) for d in raw["shape"]),
            dtype=str(raw["dtype"]),
            preview=tuple(raw.get("preview", [])),
            min=raw.get("min"),
            max=raw.get("max"),
            mean=raw.get("mean"),
            std=raw.get("std"),
            nan=int(raw.get("nan", 0)),
            inf=int(raw.get("inf", 0)),
            histogram=(tuple(histogram["counts"]), tuple(histogram["edges"])) if histogram else None,
            top5=tuple((int(t["class"]), float(t["score"])) for t in raw.get("top5", [])),
            numeric="nan" in raw,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": list(self.shape), "dtype": self.dtype}
        if self.mean is not None:
            out.update(min=self.min, max=self.max, mean=self.mean, std=self.std)
        if self.numeric:
            out.update(nan=self.nan, inf=self.inf)
        out["preview"] = list(self.preview)
        if self.histogram is not None:
            out["histogram"] = {"counts": list(self.histogram[0]), "edges": list(self.histogram[1])}
        if self.top5:
            out["top5"] = [{"class": c, "score": s} for c, s in self.top5]
        return out


@dataclass(frozen=True)
class Timings:
    first_ms: float
    runs: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    min_ms: float | None = None
    first_call: str = "first call"
    """What the first call included: "tracing" (a tf.function traced on first use), "graph setup" (a
    SavedModel signature optimized and placed), or "first call" (nothing more: TFLite)."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Timings:
        return cls(float(raw["first_ms"]), int(raw.get("runs", 0)), raw.get("p50_ms"), raw.get("p95_ms"),
                   raw.get("min_ms"), str(raw.get("first_call", "first call")))  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"first_ms": self.first_ms, "first_call": self.first_call, "runs": self.runs}
        if self.runs:
            out.update(p50_ms=self.p50_ms, p95_ms=self.p95_ms, min_ms=self.min_ms)
        return out


@dataclass(frozen=True)
class RunResult:
    """One inference: what `tfscope run` prints and the Inference tab shows."""

    signature: str
    device: str
    outputs: dict[str, OutputStats]
    timings: Timings
    saved: tuple[str, ...] = ()
    """Files written, when the request asked to save the outputs."""
    quantization: dict[str, tuple[float, int]] = field(default_factory=dict)
    """TFLite: (scale, zero_point) of each quantized integer output."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunResult:
        outputs = {str(name): OutputStats.from_json(stats) for name, stats in raw["outputs"].items()}
        quantization = {str(k): (float(v[0]), int(v[1])) for k, v in raw.get("quantization", {}).items()}
        return cls(str(raw["signature"]), str(raw["device"]), outputs, Timings.from_json(raw["timings"]),
                   tuple(str(p) for p in raw.get("saved", [])), quantization)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "signature": self.signature,
            "device": self.device,
            "outputs": {name: stats.to_json() for name, stats in self.outputs.items()},
            "timings": self.timings.to_json(),
        }
        if self.saved:
            out["saved"] = list(self.saved)
        return out
