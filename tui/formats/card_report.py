"""A model's card (what its metadata says of it) as JSON and as lines of `tfscope inspect`'s text."""

from __future__ import annotations

from typing import Any

from tui.formats.model_info import AttachedFile, ModelCard, TensorNote
from tui.formatting import format_size, printable


def card_json(card: ModelCard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {"name": card.name, "description": card.description, "version": card.version, "author": card.author,
            "license": card.license, "min_parser_version": card.min_parser_version,
            "inputs": [_note_json(n) for n in card.inputs], "outputs": [_note_json(n) for n in card.outputs],
            "files": [_file_json(f) for f in card.files], "problem": card.problem or None}  # fmt: skip


def _note_json(note: TensorNote) -> dict[str, Any]:
    normalization = {"mean": list(note.mean), "std": list(note.std)} if note.mean or note.std else None
    value_range = {"min": note.value_range[0], "max": note.value_range[1]} if note.value_range else None
    return {"name": note.name, "description": note.description, "content": note.content or None,
            "normalization": normalization, "range": value_range, "files": [_file_json(f) for f in note.files],
            "labels": len(note.labels)}  # fmt: skip


def _file_json(f: AttachedFile) -> dict[str, Any]:
    return {"name": f.name, "kind": f.kind, "size": f.size, "description": f.description, "locale": f.locale or None}


def values_text(v: tuple[float, ...]) -> str:
    """`127.5`, or `[123.675, 116.28, 103.53]` for one value per channel (four at most, then `...`)."""
    if len(v) == 1:
        return f"{v[0]:g}"
    return "[" + ", ".join(f"{x:g}" for x in v[:4]) + (", ..." if len(v) > 4 else "") + "]"


def normalization_text(note: TensorNote) -> str:
    """`(x - 127.5) / 127.5`, per channel where the model gives one value per channel."""
    if not note.mean and not note.std:
        return ""
    return f"(x - {values_text(note.mean or (0.0,))}) / {values_text(note.std or (1.0,))}"


def note_text(note: TensorNote) -> str:
    """One line of what the metadata says of a tensor."""
    parts = [note.content] if note.content else []
    if note.mean or note.std:
        parts.append(f"normalized {normalization_text(note)}")
    if note.value_range:
        parts.append(f"range {note.value_range[0]}..{note.value_range[1]}")
    parts += [file_text(f, len(note.labels)) for f in note.files]
    if note.description:
        parts.append(note.description)
    return printable("; ".join(parts)) or "(nothing said)"


def file_text(f: AttachedFile, labels: int = 0) -> str:
    inside = [f.kind]
    if labels:
        inside.append(f"{labels:,} labels")
    inside.append(format_size(f.size) if f.size is not None else "not attached")
    return printable(f"{f.name} ({', '.join(inside)})")


def card_lines(card: ModelCard) -> list[str]:
    lines = ["", "metadata (TFLite Metadata)"]
    for label, value in (("name", " ".join(filter(None, [card.name, card.version]))), ("author", card.author),
                         ("license", card.license), ("description", card.description)):  # fmt: skip
        if value:
            lines.append(f"  {label:<12} {printable(value)}")
    lines += [f"  input  {printable(n.name)}: {note_text(n)}" for n in card.inputs]
    lines += [f"  output {printable(n.name)}: {note_text(n)}" for n in card.outputs]
    lines += [f"  file   {file_text(f)}" for f in card.files]
    if card.problem:
        lines.append(f"  problem: {card.problem}")
    return lines


def output_labels(card: ModelCard | None, outputs: list[str]) -> dict[str, tuple[str, ...]]:
    """Each output's class names from the model's own label file: by the output's name, or, for a model
    with one output and one described, that one (TFLite metadata names tensors, signatures rename them)."""
    if card is None:
        return {}
    found = {n.name: n.labels for n in card.outputs if n.labels}
    if len(outputs) == 1 and outputs[0] not in found and len(card.outputs) == 1 and card.outputs[0].labels:
        return {outputs[0]: card.outputs[0].labels}
    return {name: found[name] for name in outputs if name in found}


def top5_text(top5: tuple[tuple[int, float], ...], labels: tuple[str, ...] = ()) -> str:
    """`281 tabby: 0.6120, 285 Egyptian cat: 0.2031, ...`: class, its label when known, score."""

    def named(c: int) -> str:
        return f"{c} {printable(labels[c])}" if 0 <= c < len(labels) and labels[c] else str(c)

    return ", ".join(f"{named(c)}: {score:.4f}" for c, score in top5)
