"""What changed between two models, from what their readers found: no TensorFlow, any two formats.

Each section compares things by name (a signature's inputs, a layer, a variable, an op) and keeps only
what differs; what is the same is counted. Findings come first: a new WriteFile is the headline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tui.formats.model_info import Finding, Layer, ModelInfo, Signature, TensorSpec
from tui.formats.report import CAPABILITY_WORDS, finding_json
from tui.formatting import format_shape, format_size
from tui.storage import Location, Stores


def _variables(info: ModelInfo) -> dict[str, str]:
    """Each variable by its path through the model where a checkpoint key says otherwise (a Keras 3
    optimizer's keys move between saves), else by its name."""
    return {v.model_path or v.name: f"{v.dtype} {format_shape(v.shape)}" for v in info.variables}


def read_pair(stores: Stores, a: Location, b: Location, cancelled: Callable[[], bool] = lambda: False
              ) -> tuple[ModelInfo, ModelInfo]:  # fmt: skip
    """Both models read at once (two threads): over a distant bucket the diff waits for the slower
    of the two, not their sum."""
    import threading
    from concurrent.futures import ThreadPoolExecutor, wait

    from tui.formats.inspect import inspect_model

    failed = threading.Event()  # one read failed: the other stops at its next step instead of finishing
    first: list[BaseException] = []

    def read(location: Location) -> ModelInfo:
        try:
            return inspect_model(stores.for_location(location), location,
                                 cancelled=lambda: failed.is_set() or cancelled())  # fmt: skip
        except BaseException as error:
            if not failed.is_set():
                first.append(error)  # the real failure, not the other read's stop that it caused
            failed.set()
            raise

    with ThreadPoolExecutor(2, thread_name_prefix="diff-read") as pool:
        futures = [pool.submit(read, loc) for loc in (a, b)]
        wait(futures)
    if first:
        raise first[0]
    return futures[0].result(), futures[1].result()


SECTIONS = ("signatures", "layers", "variables", "parameters", "ops", "versions", "size")


@dataclass(frozen=True)
class Change:
    """One named thing that differs: `before` is None where B added it, `after` where B removed it."""

    name: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "changed"


@dataclass
class Section:
    title: str
    changes: list[Change] = field(default_factory=list)
    same: int = 0
    """Things in it that did not change (counted, not listed)."""

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)


@dataclass
class ModelDiff:
    a: ModelInfo
    b: ModelInfo
    new_findings: list[Finding]
    gone_findings: list[Finding]
    sections: list[Section]

    @property
    def same(self) -> bool:
        return not self.new_findings and not self.gone_findings and not any(s.changes for s in self.sections)


def diff_models(a: ModelInfo, b: ModelInfo) -> ModelDiff:
    """What B changes from A."""
    before, after = _finding_keys(a.findings), _finding_keys(b.findings)
    sections = [
        _section("signatures", _signatures(a.signatures), _signatures(b.signatures)),
        _section("layers", _layers(a), _layers(b)),
        _section(
            "variables",
            _variables(a),
            _variables(b),
        ),  # fmt: skip
        _section("parameters", _parameters(a), _parameters(b)),
        _section("ops", {op: f"{n:,}" for op, n in a.ops.items()}, {op: f"{n:,}" for op, n in b.ops.items()}),
        _section("versions", a.versions, b.versions),
        _section("size", _size(a), _size(b)),
    ]
    return ModelDiff(a, b, [f for k, f in after.items() if k not in before],
                     [f for k, f in before.items() if k not in after], sections)  # fmt: skip


def _section(title: str, a: Mapping[str, str], b: Mapping[str, str]) -> Section:
    section = Section(title)
    for name in sorted(set(a) | set(b)):
        old, new = a.get(name), b.get(name)
        if old == new:
            section.same += 1
        else:
            section.changes.append(Change(name, old, new))
    return section


def _finding_keys(findings: Iterable[Finding]) -> dict[tuple[str, str, str | None, str], Finding]:
    """Findings by what they do and when; where they sit (a function's generated name) may differ."""
    return {(f.name, f.capability, f.target, f.when): f for f in findings}


def _signatures(signatures: Iterable[Signature]) -> dict[str, str]:
    """A signature's method and each input and output, by name: a changed dtype is one line."""
    out: dict[str, str] = {}
    for s in signatures:
        out[f"{s.name}"] = s.method or "-"
        out.update({f"{s.name} input {t.name}": _tensor(t) for t in s.inputs})
        out.update({f"{s.name} output {t.name}": _tensor(t) for t in s.outputs})
    return out


def _tensor(t: TensorSpec) -> str:
    shape = "?" if t.shape is None else format_shape(t.shape)
    return f"{t.dtype} {shape}" + (f" ({t.quantization})" if t.quantization else "")


def _layers(info: ModelInfo) -> dict[str, str]:
    """Each layer by its path (a nested model's layers under its name), as a summary row."""
    out: dict[str, str] = {}

    def walk(layers: Iterable[Layer], prefix: str) -> None:
        for layer in layers:
            out[prefix + layer.name] = f"{layer.class_name} {layer.output_shape or '?'} {layer.params:,} params"
            walk(layer.children, f"{prefix}{layer.name}/")

    walk(info.layers, "")
    return out


def _parameters(info: ModelInfo) -> dict[str, str]:
    by_dtype: dict[str, int] = {}
    for v in info.model_variables:
        by_dtype[v.dtype] = by_dtype.get(v.dtype, 0) + (v.nbytes or 0)
    return {"total": f"{info.total_params:,}", **{f"bytes in {d}": format_size(n) for d, n in by_dtype.items()}}


def _size(info: ModelInfo) -> dict[str, str]:
    return {"on storage": format_size(info.size), "files": f"{len(info.files):,}", "format": info.kind.label}


# -- as text and JSON ---------------------------------------------------------------------------------

MARKS = {"added": "+", "removed": "-", "changed": "~"}


def diff_to_text(d: ModelDiff) -> str:
    lines = [
        "tfscope diff",
        f"  A  {d.a.location.uri}  ({d.a.kind.label})",
        f"  B  {d.b.location.uri}  ({d.b.kind.label})",
    ]
    if d.new_findings or d.gone_findings:
        lines += ["", f"findings: {len(d.new_findings)} new in B, {len(d.gone_findings)} gone"]
        lines += [f"  + NEW {finding_text(f)}" for f in d.new_findings]
        lines += [f"  - {finding_text(f)}" for f in d.gone_findings]
    for section in d.sections:
        counts = ", ".join(f"{section.count(k)} {k}" for k in MARKS if section.count(k))
        lines += ["", f"{section.title}: {counts or 'no change'}" + (f", {section.same} same" if section.same else "")]
        for c in section.changes:
            text = c.after if c.before is None else c.before if c.after is None else f"{c.before} -> {c.after}"
            lines.append(f"  {MARKS[c.kind]} {c.name}: {text}")
    lines += ["", "the same" if d.same else "different"]
    return "\n".join(lines)


def finding_text(f: Finding) -> str:
    target = f" {f.target}" if f.target else ""
    return f"{f.name} {CAPABILITY_WORDS.get(f.capability, f.capability)}{target} {f.when}"


def diff_to_json(d: ModelDiff) -> dict[str, object]:
    return {
        "a": d.a.location.uri,
        "b": d.b.location.uri,
        "same": d.same,
        "findings": {
            "new": [finding_json(f) for f in d.new_findings],
            "gone": [finding_json(f) for f in d.gone_findings],
        },
        "sections": {
            s.title: {
                "added": [{"name": c.name, "after": c.after} for c in s.changes if c.kind == "added"],
                "removed": [{"name": c.name, "before": c.before} for c in s.changes if c.kind == "removed"],
                "changed": [
                    {"name": c.name, "before": c.before, "after": c.after} for c in s.changes if c.kind == "changed"
                ],
                "same": s.same,
            }
            for s in d.sections
        },
    }
