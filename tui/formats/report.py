"""ModelInfo as JSON (for scripts) and as readable text (like `saved_model_cli show --all`)."""

from __future__ import annotations

from typing import Any

from tui.formats.card_report import card_json, card_lines
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import Finding, Layer, ModelInfo, TensorSpec
from tui.formats.ops import flagged_ops
from tui.formatting import format_shape, format_size, printable


def load_verdict(info: ModelInfo) -> str:
    """One line: what loading this model needs."""
    tf_version = info.versions.get("TensorFlow")
    keras = info.versions.get("Keras")
    base = {
        ArtifactKind.SAVED_MODEL: f"tf.saved_model.load (saved by TensorFlow {tf_version or '?'}); no Keras needed",
        ArtifactKind.KERAS: f"keras.saving.load_model (saved by Keras {keras or '?'}), safe_mode on",
        ArtifactKind.HDF5: f"keras.saving.load_model (legacy HDF5, saved by Keras {keras or '?'})",
        ArtifactKind.CHECKPOINT: "the code that built the model, then tf.train.Checkpoint(...).restore()",
        ArtifactKind.TFLITE: "tf.lite.Interpreter (or ai-edge-litert); no TensorFlow graph",
    }[info.kind]
    if info.kind is ArtifactKind.CHECKPOINT and any(v.group == "optimizer" for v in info.variables):
        base += "; holds optimizer state, so training can resume"
    if info.needs:
        base += "; needs " + "; ".join(n.detail for n in info.needs)
    return base


def _spec(t: TensorSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name, "dtype": t.dtype, "shape": None if t.shape is None else list(t.shape)}
    if t.quantization:
        out["quantization"] = t.quantization
    return out


def _layer(layer: Layer) -> dict[str, Any]:
    return {
        "name": layer.name,
        "class_name": layer.class_name,
        "output_shape": layer.output_shape,
        "params": layer.params,
        "trainable": layer.trainable,
        "dtype": layer.dtype,
        "connected_to": list(layer.connected_to),
        "layers": [_layer(c) for c in layer.children],
    }


def to_json(info: ModelInfo) -> dict[str, Any]:
    """The documented JSON shape of `tfscope inspect --json` (see README)."""
    return {
        "format": info.kind.value,
        "format_label": info.kind.label,
        "uri": info.uri,
        "size": info.size,
        "files": [{"path": p, "size": s} for p, s in info.files],
        "versions": info.versions,
        "tag_sets": [list(t) for t in info.tag_sets],
        "signatures": [
            {
                "name": s.name,
                "method": s.method,
                "inputs": [_spec(t) for t in s.inputs],
                "outputs": [_spec(t) for t in s.outputs],
            }
            for s in info.signatures
        ],  # fmt: skip
        "layers": [_layer(layer) for layer in info.layers],
        "variables": [
            {
                "name": v.name,
                "shape": list(v.shape),
                "dtype": v.dtype,
                "trainable": v.trainable,
                "group": v.group,
                "size": v.size,
                "model_path": v.model_path,
            }
            for v in info.variables
        ],  # fmt: skip
        "total_params": info.total_params,
        "params_by_dtype": {d: {"params": n, "bytes": b} for d, (n, b) in info.params_by_dtype().items()},
        "ops": info.ops,
        "flagged_ops": flagged_ops(info.ops),
        "findings": [finding_json(f) for f in info.findings],
        "assets": info.assets,
        "details": info.details,
        "needs": [{"kind": n.kind, "detail": n.detail} for n in info.needs],
        "load": load_verdict(info),
        "bytes_read": info.bytes_read,
        "requests": info.requests,
        "metadata": card_json(info.card),
    }


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    return format_shape(shape, unknown="-1")  # -1, as saved_model_cli prints unknown dims


def to_text(info: ModelInfo) -> str:
    """A readable report for terminals and logs."""
    lines = [f"{info.kind.label}  {printable(info.uri)}"]
    lines.append(f"  size       {format_size(info.size)} in {len(info.files)} file(s)")
    for label, value in info.versions.items():
        lines.append(f"  {label:<10} {value}")
    lines.append(f"  params     {info.total_params:,}")
    for dtype, (count, nbytes) in info.params_by_dtype().items():
        lines.append(f"    {dtype:<8} {count:,} ({format_size(nbytes)})")
    if info.tag_sets:
        lines.append("  tag-sets   " + "; ".join(",".join(t) for t in info.tag_sets))
    lines.append(f"  load with  {load_verdict(info)}")
    for label, value in info.details.items():
        lines.append(f"  {label}: {value}")
    if info.card is not None:
        lines += card_lines(info.card)
    for sig in info.signatures:
        lines += ["", f"signature '{sig.name}' ({sig.method})"]
        for title, tensors in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            lines.append(f"  {title}:")
            for t in tensors:
                quant = f"  [{t.quantization}]" if t.quantization else ""
                lines.append(f"    {t.name:<24} {t.dtype:<9} {_shape_text(t.shape)}{quant}")
    if info.layers:
        lines += ["", f"layers ({len(info.layers)})"]
        lines += _layer_lines(info.layers, "  ")
    if info.variables:
        # Counted by the group names the rows show: optimizer state lumped into "other" contradicted them.
        groups = sorted({v.group for v in info.variables} - {"model"})
        counts = [f"{len(info.model_variables)} model"]
        counts += [f"{sum(v.group == group for v in info.variables)} {group}" for group in groups]
        lines += ["", f"variables ({', '.join(counts)})"]
        for v in sorted(info.variables, key=lambda v: -(v.size))[:20]:
            path = f"  = {v.model_path}" if v.model_path else ""
            lines.append(f"  {v.name:<48} {v.dtype:<8} {_shape_text(tuple(v.shape)):<20} {v.group}{path}")
        if len(info.variables) > 20:
            lines.append(f"  ... {len(info.variables) - 20} more (--json lists all)")
    if info.findings:
        gated = sum(f.gated for f in info.findings)
        lines += ["", f"findings ({len(info.findings)}; {gated} keep it from loading without consent)"]
        lines += ["  " + line for line in finding_lines(info.findings)]
    if info.ops:
        flagged = flagged_ops(info.ops)
        lines += ["", f"ops ({sum(info.ops.values()):,} in {len(info.ops)} types)"]
        for op, count in info.ops.items():
            lines.append(f"  {op:<32} {count:>6}" + (f"  ! {flagged[op]}" if op in flagged else ""))
    return "\n".join(lines)


CAPABILITY_WORDS = {
    "file_read": "reads files",
    "file_write": "writes files",
    "file_list": "lists files",
    "file_map": "maps a file into memory",
    "network": "reaches the network",
    "stream": "writes to a stream",
    "python": "runs Python",
    "unseen_graph": "runs a graph tfscope cannot read",
}


def finding_json(f: Finding) -> dict[str, Any]:
    return {"name": f.name, "capability": f.capability, "target": f.target, "when": f.when, "where": f.where}


def finding_lines(findings: list[Finding]) -> list[str]:
    """One line each: `ReadFile  reads files  /etc/passwd  at load  (in fn/node)`."""
    lines = []
    for f in findings:
        what = CAPABILITY_WORDS.get(f.capability, f.capability)
        target = printable(f.target or "(computed)")
        lines.append(f"{f.name:<20} {what:<24} {target:<28} {f.when}  (in {printable(f.where)})")
    return lines


def _layer_lines(layers: list[Layer], indent: str) -> list[str]:
    lines = []
    for layer in layers:
        shape = layer.output_shape or ""
        lines.append(f"{indent}{layer.name:<32} {layer.class_name:<24} {shape:<22} {layer.params:>10,}")
        lines += _layer_lines(layer.children, indent + "  ")
    return lines
