"""`tfscope diff --run`: both models fed the same inputs in the runtime child, their answers compared.

The inputs are made once, here (seeded, so a rerun gives the same), saved as `.npy` and fed to both
models as files: whatever A got, B got bit for bit. Inputs and outputs are matched by name, and by
position where the names differ but the counts agree (a converter renamed them); the report says so.
The comparison is NumPy on the saved outputs, in this process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui.errors import TfscopeError
from tui.formats.model_info import ModelInfo
from tui.runtime.host import RuntimeHost
from tui.runtime.input_checks import InputError
from tui.runtime.inputs import make_input
from tui.runtime.preflight import check_run, runnable
from tui.runtime.protocol import InputSource, InputSpec, RunRequest, RunResult
from tui.runtime.quantization import dequantize, quantize, representable
from tui.runtime.session import load_model
from tui.storage import Stores
from tui.storage.cache import ModelCache

TOLERANCE = 1e-5
"""Outputs agree when no element differs by more than this (absolute), unless the user says otherwise."""
SEEDED = frozenset({"random", "normal", "uniform"})
"""Sources made from the seed: --seed sets theirs, and the report names it."""
REL_FLOOR = 1e-6
"""Relative differences divide by |A| but never by less than this: a value near zero is not a huge ratio."""


@dataclass(frozen=True)
class FedInput:
    a: str
    b: str
    dtype: str
    shape: tuple[int, ...]
    source: str
    note: str = ""
    """How B was fed A's values when its input differs: "quantized for B (scale 0.0235, zero point -128)"."""


@dataclass(frozen=True)
class OutputDiff:
    """One output of A against its match in B; the numbers are None where the shapes or kinds differ."""

    a: str
    b: str
    shape_a: tuple[int, ...]
    shape_b: tuple[int, ...]
    max_abs: float | None = None
    max_rel: float | None = None
    mean_abs: float | None = None
    rows: int = 0
    """Rows of a [batch, classes] output (0 for other shapes), which the top-k counts are out of."""
    top1: int | None = None
    top5: int | None = None
    problem: str = ""
    """Why the values were not compared (shapes differ, strings differ)."""
    note: str = ""
    """"dequantized" when a side's output was quantized integers, compared as the reals they stand for."""

    def agrees(self, tolerance: float) -> bool:
        return not self.problem and self.max_abs is not None and self.max_abs <= tolerance

    def to_json(self, tolerance: float) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "shape_a": list(self.shape_a), "shape_b": list(self.shape_b),
                "max_abs": self.max_abs, "max_rel": self.max_rel, "mean_abs": self.mean_abs, "rows": self.rows,
                "top1": self.top1, "top5": self.top5, "problem": self.problem or None, "note": self.note or None,
                "agree": self.agrees(tolerance)}  # fmt: skip


@dataclass
class SideBySide:
    signature_a: str
    signature_b: str
    inputs: list[FedInput]
    outputs: list[OutputDiff] = field(default_factory=list)
    unmatched_a: list[str] = field(default_factory=list)
    unmatched_b: list[str] = field(default_factory=list)
    by_position: list[str] = field(default_factory=list)
    """What was matched by position, not by name: "inputs", "outputs"."""
    tolerance: float = TOLERANCE

    @property
    def agree(self) -> bool:
        return (
            bool(self.outputs)
            and not self.unmatched_a
            and not self.unmatched_b
            and all(o.agrees(self.tolerance) for o in self.outputs)
        )

    def to_json(self) -> dict[str, Any]:
        return {"signature_a": self.signature_a, "signature_b": self.signature_b,
                "inputs": [{"a": i.a, "b": i.b, "dtype": i.dtype, "shape": list(i.shape), "source": i.source,
                            "note": i.note or None} for i in self.inputs],
                "outputs": [o.to_json(self.tolerance) for o in self.outputs],
                "unmatched": {"a": self.unmatched_a, "b": self.unmatched_b}, "matched_by_position": self.by_position,
                "tolerance": self.tolerance, "agree": self.agree}  # fmt: skip


def pair_names(a: Sequence[str], b: Sequence[str]) -> tuple[list[tuple[str, str]], bool]:
    """Names of A matched to names of B: equal names pair; if the rest are as many on each side, they
    pair in order (True: some were matched by position). What stays unpaired is left out."""
    pairs = [(n, n) for n in a if n in b]
    rest_a, rest_b = [n for n in a if n not in b], [n for n in b if n not in a]
    if rest_a and len(rest_a) == len(rest_b):
        return pairs + list(zip(rest_a, rest_b, strict=True)), True
    return pairs, False


def signature_pair(info_a: ModelInfo, info_b: ModelInfo, wanted: str | None) -> tuple[str, str]:
    """A's signature (the one asked for, else its default) and B's of the same name, else B's default
    (a Keras model's `call` against its conversion's `serving_default`)."""
    first = check_run(info_a, wanted, {})
    return first, first if first in runnable(info_b) else check_run(info_b, None, {})


def compare_arrays(a: Any, b: Any) -> dict[str, Any]:
    """Max and mean absolute difference, max relative difference and, for a [batch, classes] output,
    how many rows' top-1 and top-5 classes agree; or the problem that stopped the comparison."""
    import numpy as np

    none = {"max_abs": 0.0, "max_rel": 0.0, "mean_abs": 0.0}
    if a.shape != b.shape:
        return {"problem": f"shapes differ: {tuple(a.shape)} and {tuple(b.shape)}"}
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":  # strings, complex: equal or not
        differ = int(np.sum(a != b))
        return none if not differ else {"problem": f"{differ} of {a.size} values differ"}
    x, y = a.astype(np.float64), b.astype(np.float64)
    if x.size == 0:
        return none
    with np.errstate(invalid="ignore"):  # inf - inf: NaN; equal values (the same infinity too) differ by 0
        gap = np.where(x == y, 0.0, np.abs(x - y))
    gap = np.where(np.isnan(gap) & ~(np.isnan(x) & np.isnan(y)), np.inf, np.nan_to_num(gap, nan=0.0))
    out: dict[str, Any] = {"max_abs": float(gap.max()), "mean_abs": float(gap.mean()),
                           "max_rel": float((gap / np.maximum(np.abs(x), REL_FLOOR)).max())}  # fmt: skip
    if x.ndim == 2 and x.shape[1] >= 2 and a.dtype.kind == "f":
        top_a, top_b = np.argsort(-x, axis=1, kind="stable"), np.argsort(-y, axis=1, kind="stable")
        out["rows"] = int(x.shape[0])
        out["top1"] = int(np.sum(top_a[:, 0] == top_b[:, 0]))
        if x.shape[1] >= 5:
            out["top5"] = sum(set(r) == set(s) for r, s in zip(top_a[:, :5].tolist(), top_b[:, :5].tolist(),
                                                                 strict=True))  # fmt: skip
    return out


@dataclass(frozen=True)
class MadeInput:
    """One input of A: the values as A takes them (`fed`), and as real numbers (`real`: the same file
    unless A's input is quantized)."""

    fed: Path
    real: Path
    spec: InputSpec
    shape: tuple[int, ...]
    source: str


def made_inputs(specs: Sequence[InputSpec], given: dict[str, InputSource], seed: int, folder: Path,
                max_bytes: int) -> dict[str, MadeInput]:  # fmt: skip
    """Each input of A made once (the user's source, else seeded random numbers; empty text for
    strings) and saved in `folder`. A quantized input's default values are made as real numbers and
    quantized by its scale and zero point, so a float model can be fed the same reals."""
    import numpy as np

    made = {}
    for i, spec in enumerate(specs):
        default = InputSource("zeros" if spec.dtype == "string" else "random", seed=seed)
        source = given.get(spec.name, default)
        if source.source in SEEDED:
            source = replace(source, seed=seed)
        as_real = spec.quantization is not None and spec.name not in given
        # A quantized input's own values: reals it can represent (uniform over its range), so neither side
        # is fed values the other clips.
        wanted = replace(spec, dtype="float32", quantization=None) if as_real else spec
        drawn = replace(source, source="uniform") if as_real else source
        try:
            array = make_input(wanted.to_json(), drawn.to_json(), max_bytes)
        except InputError as error:
            raise TfscopeError(f"{error}.", "Fix that input.", title="Bad input") from error
        real = fed = folder / f"input-{i}.npy"
        if spec.quantization is not None:
            if as_real:
                low, high = representable(spec.quantization, spec.dtype)
                array = quantize(low + (high - low) * array, spec.quantization, spec.dtype)
            real = folder / f"input-{i}-real.npy"
            np.save(real, dequantize(array, spec.quantization), allow_pickle=False)  # exactly what A's ints mean
        np.save(fed, array, allow_pickle=False)
        named = source.source + (f" (seed {source.seed})" if source.source in SEEDED else "")
        made[spec.name] = MadeInput(fed, real, spec, tuple(int(d) for d in array.shape), named)
    return made


def fed_to_b(made: MadeInput, spec: InputSpec, a: str, folder: Path) -> tuple[Path, str]:
    """The file to feed B's input `spec` with A's values, and a note when they were converted: the same
    file when the dtypes agree, else the real values quantized for B (or A's dequantized for a float B).
    Other dtype changes are refused: the same values cannot be fed to both."""
    import numpy as np

    if spec.dtype == made.spec.dtype and spec.quantization == made.spec.quantization:
        return made.fed, ""
    if spec.quantization is not None and spec.dtype != "string":
        path = folder / f"{made.fed.stem}-for-b.npy"
        real = np.load(made.real, allow_pickle=False)
        np.save(path, quantize(real, spec.quantization, spec.dtype), allow_pickle=False)
        scale, zero_point = spec.quantization
        low, high = representable(spec.quantization, spec.dtype)
        clipped = int(np.sum((real < low) | (real > high)))
        outside = f"; {clipped} of {real.size} values outside its range were clipped" if clipped else ""
        return path, f"quantized for B (scale {scale:.4g}, zero point {zero_point}){outside}"
    if made.spec.quantization is not None and spec.dtype == "float32":
        return made.real, "dequantized for B"
    raise TfscopeError(
        f"input '{a}' of A takes {made.spec.dtype}, its match '{spec.name}' in B takes {spec.dtype}: the same values "
        "cannot be fed to both.", "Compare models that take the same input dtypes (or quantized ones).",
        title="Inputs differ")  # fmt: skip


def run_side_by_side(
    stores: Stores,
    host: RuntimeHost,
    cache: ModelCache,
    infos: tuple[ModelInfo, ModelInfo],
    *,
    signature: str | None,
    inputs: dict[str, InputSource],
    seed: int,
    folder: Path,
    max_bytes: int,
    tolerance: float = TOLERANCE,
    unsafe: bool = False,
    device: str | None = None,
) -> SideBySide:
    """Load A, feed it inputs made here, load B (A is unloaded), feed it the same values, compare."""
    names = signature_pair(*infos, signature)
    results: list[RunResult] = []
    fed: list[FedInput] = []
    by_position: list[str] = []
    made: dict[str, MadeInput] = {}
    for side, (info, name) in enumerate(zip(infos, names, strict=True)):
        loaded = load_model(stores, host, cache, info.location, info.kind, unsafe=unsafe, device=device,
                            needs=info.needs)  # fmt: skip
        specs = next((s.inputs for s in loaded.loaded.signatures if s.name == name), None)
        if specs is None:
            raise TfscopeError(f"{info.uri} has no signature '{name}' once loaded.", "Pick one with --signature.",
                               title="No such signature")  # fmt: skip
        outputs = folder / f"outputs-{side}"
        outputs.mkdir()
        if side == 0:
            made = made_inputs(specs, inputs, seed, folder, max_bytes)
            feed = {n: InputSource("npy", path=str(m.fed)) for n, m in made.items()}
        else:
            pairs, positional = pair_names(list(made), [s.name for s in specs])
            if positional:
                by_position.append("inputs")
            missing = [s.name for s in specs if s.name not in {b for _, b in pairs}]
            if missing:
                raise TfscopeError(f"{info.uri} takes input(s) {', '.join(missing)} that A has no match for.",
                                   "Compare models that take the same inputs.", title="Inputs differ")  # fmt: skip
            by_name = {s.name: s for s in specs}
            feed = {}
            for a, b in pairs:
                path, note = fed_to_b(made[a], by_name[b], a, folder)
                feed[b] = InputSource("npy", path=str(path))
                fed.append(FedInput(a, b, made[a].spec.dtype, made[a].shape, made[a].source, note))
        results.append(host.run(RunRequest(name, feed, device, repeat=0, save_dir=str(outputs),
                                           max_input_bytes=max_bytes)))  # fmt: skip
    return compared(SideBySide(names[0], names[1], fed, by_position=by_position, tolerance=tolerance), results)


def compared(report: SideBySide, results: Sequence[RunResult]) -> SideBySide:
    """The outputs of both runs paired and compared, quantized ones as the real values they stand for."""
    import numpy as np

    saved = [dict(zip(r.outputs, r.saved, strict=True)) for r in results]
    pairs, positional = pair_names(list(saved[0]), list(saved[1]))
    if positional:
        report.by_position.append("outputs")
    report.unmatched_a = [n for n in saved[0] if n not in {a for a, _ in pairs}]
    report.unmatched_b = [n for n in saved[1] if n not in {b for _, b in pairs}]
    for a, b in pairs:
        values = []
        for side, name in enumerate((a, b)):
            value, quantization = np.load(saved[side][name], allow_pickle=False), results[side].quantization.get(name)
            values.append(value if quantization is None else dequantize(value, quantization))
        note = "dequantized" if a in results[0].quantization or b in results[1].quantization else ""
        report.outputs.append(OutputDiff(a, b, tuple(values[0].shape), tuple(values[1].shape), note=note,
                                         **compare_arrays(*values)))  # fmt: skip
    return report


def side_by_side_text(report: SideBySide) -> list[str]:
    """The report as lines for `tfscope diff --run`."""
    same = report.signature_a == report.signature_b
    lines = [f"run: {report.signature_a}" + ("" if same else f" of A against {report.signature_b} of B")]
    for i in report.inputs:
        named = i.a if i.a == i.b else f"{i.a} -> {i.b}"
        lines.append(f"  input {named}: {i.dtype} {i.shape}, {i.source}" + (f"; {i.note}" if i.note else ""))
    if report.by_position:
        lines.append(f"  ({' and '.join(report.by_position)} matched by position: B names them otherwise)")
    for o in report.outputs:
        named = o.a if o.a == o.b else f"{o.a} -> {o.b}"
        if o.problem:
            lines.append(f"  ~ output {named}: {o.problem}")
            continue
        mark = "=" if o.agrees(report.tolerance) else "~"
        line = f"  {mark} output {named} {o.shape_a}: max abs {o.max_abs:.3g}, max rel {o.max_rel:.3g}, " \
               f"mean abs {o.mean_abs:.3g}"  # fmt: skip
        if o.top1 is not None:
            line += f"; top-1 agrees on {o.top1}/{o.rows} rows"
        if o.top5 is not None:
            line += f", top-5 on {o.top5}/{o.rows}"
        if o.note:
            line += f" ({o.note})"
        lines.append(line)
    lines += [f"  - output {n}: only in A" for n in report.unmatched_a]
    lines += [f"  + output {n}: only in B" for n in report.unmatched_b]
    verdict = "agree" if report.agree else "differ"
    lines.append(f"outputs {verdict} (tolerance {report.tolerance:g} absolute)")
    return lines
