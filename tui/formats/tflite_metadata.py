"""TFLite Metadata: what a `.tflite` says about itself (name, author, license, what each tensor holds, how
to normalize it, its label file), read without TensorFlow.

The metadata is a second flatbuffer (identifier "M001") in the model buffer named TFLITE_METADATA; its
associated files (labels, vocabularies) are a zip appended after the model. The accessors come from the
schema's own `metadata_schema.fbs` (vendored from MediaPipe, which maintains it now), compiled by flatc
(`make schemas`): tflite-support, which used to ship them, pins protobuf < 4 and cannot install beside
TensorFlow 2.21, and MediaPipe's copy costs a 3 s import of MediaPipe and OpenCV.

Metadata is written by anyone: every count is capped, every string cut, and a damaged or crafted one
leaves a `problem` on the card, never a failed read of the model itself.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from typing import Any

from tui.formats.labels import MAX_LABEL_BYTES, label_lines
from tui.formats.limits import Budget, InspectionCancelled
from tui.formats.model_info import AttachedFile, ModelCard, TensorNote

METADATA_NAME = b"TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MAX_TENSORS = 1024
MAX_FILES = 64
MAX_VALUES = 4096
"""Normalization means and stds: one per channel; more is crafted."""
MAX_TEXT = 4000
"""Characters kept of a name, description or license (a license can be long; a crafted one longer)."""
FILE_KINDS = {0: "file", 1: "descriptions", 2: "labels", 3: "value labels", 4: "score calibration",
              5: "vocabulary", 6: "index"}  # fmt: skip
"""AssociatedFileType, as people say it; `labels` is TENSOR_AXIS_LABELS (one class name per line)."""


CARD_WORK = 2_000_000
"""Work units for one card (tensors, process units, files, string bytes / 64): a real card takes hundreds."""
MAX_LABEL_FILES = 8
"""Distinct label files read for one card; outputs naming the same file share one read."""


def read_card(model: Any, data: bytes, cancelled: Callable[[], bool] = lambda: False) -> ModelCard | None:
    """The card of a parsed `tflite.Model` over `data`; None when it carries no metadata."""
    try:
        raw = _metadata_buffer(model, data)
        if raw is None:
            return None
        if len(raw) < 8 or raw[4:8] != METADATA_IDENTIFIER:
            return ModelCard(problem="its TFLITE_METADATA buffer is not a metadata flatbuffer (no M001 identifier)")
        card = _card(raw, _attached(data), Budget("its metadata", cancelled, work=CARD_WORK))
    except InspectionCancelled:
        raise
    except Exception as exc:  # a damaged flatbuffer fails anywhere inside the generated accessors
        return ModelCard(problem=f"its metadata is damaged or crafted ({type(exc).__name__})")
    return with_labels(card, data)


def _metadata_buffer(model: Any, data: bytes) -> bytes | None:
    for i in range(min(model.MetadataLength(), MAX_FILES)):
        entry = model.Metadata(i)
        if entry.Name() != METADATA_NAME:
            continue
        index = entry.Buffer()
        if not 0 <= index < model.BuffersLength():
            return b""
        buffer = model.Buffers(index)
        if buffer.Offset() > 1:  # a model over 2 GB keeps its buffers after the flatbuffer
            start, size = buffer.Offset(), buffer.Size()
            return data[start : start + size] if start + size <= len(data) else b""
        return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return None


def _attached(data: bytes) -> dict[str, int]:
    """Names and sizes in the zip after the flatbuffer (none when there is no zip, or one whose end record
    claims more entries than a model attaches: zipfile would parse every one)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return {}
    (entries,) = struct.unpack_from("<H", data, end + 10)
    if entries > MAX_FILES * 4:  # 0xFFFF (zip64) too: a zip of labels never needs it
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {i.filename: i.file_size for i in archive.infolist()[: MAX_FILES * 4]}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return {}


def read_labels(data: bytes, name: str) -> tuple[str, ...]:
    """The class names in the attached file `name`: one per line, at most MAX_LABELS, read up to MAX_LABEL_BYTES."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(name) as f:
            return label_lines(f.read(MAX_LABEL_BYTES))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return ()  # damaged, encrypted, or compressed in a way zipfile refuses


def _card(raw: bytes, attached: dict[str, int], budget: Budget) -> ModelCard:
    from tui.formats.schemas import metadata_schema_generated as schema

    def text(value: bytes | None) -> str:
        budget.spend(1 + len(value or b"") // 64, on="metadata strings")  # a string shared by every table
        return _text(value)

    root = schema.ModelMetadata.GetRootAs(raw, 0)  # type: ignore[no-untyped-call]
    inputs: tuple[TensorNote, ...] = ()
    outputs: tuple[TensorNote, ...] = ()
    files = _files(root, attached, text, budget)
    if root.SubgraphMetadataLength():
        subgraph = root.SubgraphMetadata(0)
        inputs = tuple(_note(subgraph.InputTensorMetadata(i), attached, schema, text, budget)
                       for i in range(min(subgraph.InputTensorMetadataLength(), MAX_TENSORS)))  # fmt: skip
        outputs = tuple(_note(subgraph.OutputTensorMetadata(i), attached, schema, text, budget)
                        for i in range(min(subgraph.OutputTensorMetadataLength(), MAX_TENSORS)))  # fmt: skip
        files += _files(subgraph, attached, text, budget)
    return ModelCard(text(root.Name()), text(root.Description()), text(root.Version()), text(root.Author()),
                     text(root.License()), text(root.MinParserVersion()), inputs, outputs, files)  # fmt: skip


Text = Callable[[bytes | None], str]


def _note(tensor: Any, attached: dict[str, int], schema: Any, text: Text, budget: Budget) -> TensorNote:
    budget.spend(1, on="metadata tensors")
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    for k in range(min(tensor.ProcessUnitsLength(), MAX_FILES)):
        budget.spend(1, on="metadata process units")
        unit = tensor.ProcessUnits(k)
        table = unit.Options()
        if unit.OptionsType() == schema.ProcessUnitOptions.NormalizationOptions and table is not None:
            options = schema.NormalizationOptions()
            options.Init(table.Bytes, table.Pos)
            # Views over the buffer, cut to MAX_VALUES: a crafted length allocates nothing.
            mean = tuple(float(v) for v in _values(options.MeanAsNumpy()))
            std = tuple(float(v) for v in _values(options.StdAsNumpy()))
            break  # the first normalization is the one a model applies
    content, value_range, rate = _content(tensor.Content(), schema)
    return TensorNote(text(tensor.Name()), text(tensor.Description()), content, mean, std, value_range, rate,
                      _files(tensor, attached, text, budget))  # fmt: skip


def _values(array: Any) -> Any:
    """A generated `...AsNumpy()` (0 when the vector is absent), at most MAX_VALUES of it."""
    return () if isinstance(array, int) else array[:MAX_VALUES]


def _content(content: Any, schema: Any) -> tuple[str, tuple[int, int] | None, int | None]:
    """What the tensor holds, in words; the range of dimensions it spans (ValueRange); an audio sample rate."""
    if content is None:
        return "", None, None
    kind, table = content.ContentPropertiesType(), content.ContentProperties()
    value_range = content.Range()
    span = (int(value_range.Min()), int(value_range.Max())) if value_range is not None else None
    kinds = schema.ContentProperties
    if table is None or kind == kinds.NONE:
        return "", span, None
    if kind == kinds.ImageProperties:
        image = schema.ImageProperties()
        image.Init(table.Bytes, table.Pos)
        color = {1: "RGB", 2: "grayscale"}.get(image.ColorSpace(), "")
        size = image.DefaultSize()
        dims = f" {size.Width()}x{size.Height()}" if size is not None and size.Width() else ""
        return " ".join(filter(None, ["image", color])) + dims, span, None
    if kind == kinds.AudioProperties:
        audio = schema.AudioProperties()
        audio.Init(table.Bytes, table.Pos)
        channels, rate = audio.Channels(), audio.SampleRate()
        return f"audio {rate} Hz, {channels} channel" + ("s" if channels != 1 else ""), span, rate or None
    if kind == kinds.BoundingBoxProperties:
        return "bounding boxes", span, None
    return "feature", span, None


def _files(owner: Any, attached: dict[str, int], text: Text, budget: Budget) -> tuple[AttachedFile, ...]:
    out = []
    for i in range(min(owner.AssociatedFilesLength(), MAX_FILES)):
        budget.spend(1, on="metadata files")
        f = owner.AssociatedFiles(i)
        name = text(f.Name())
        out.append(AttachedFile(name, FILE_KINDS.get(f.Type(), "file"), attached.get(name), text(f.Description()),
                                text(f.Locale())))  # fmt: skip
    return tuple(out)


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", errors="replace")[:MAX_TEXT] if value else ""


def with_labels(card: ModelCard, data: bytes) -> ModelCard:
    """The card with each output's class names read from its attached `labels` file."""
    from dataclasses import replace

    outputs = []
    read: dict[str, tuple[str, ...]] = {}  # outputs that name one file share one read
    for note in card.outputs:
        label_file = next((f for f in note.files if f.kind == "labels" and f.size is not None), None)
        if label_file is None or (label_file.name not in read and len(read) >= MAX_LABEL_FILES):
            outputs.append(note)
            continue
        if label_file.name not in read:
            read[label_file.name] = read_labels(data, label_file.name)
        outputs.append(replace(note, labels=read[label_file.name]))
    return replace(card, outputs=tuple(outputs))
