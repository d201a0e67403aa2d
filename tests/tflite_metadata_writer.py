"""Attach TFLite Metadata to a model at test time, as tflite-support's MetadataPopulator does: the metadata
flatbuffer (built with the schema's generated object API) in a buffer named TFLITE_METADATA, the model
re-serialized by TensorFlow's own flatbuffer_utils, the associated files zipped after it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import flatbuffers

from tui.formats.schemas import metadata_schema_generated as schema


@dataclass
class Tensor:
    name: str
    description: str = ""
    image: tuple[int, int] | None = None
    """(width, height) of an RGB image input."""
    audio: tuple[int, int] | None = None
    """(sample rate, channels) of an audio input."""
    mean: Sequence[float] = ()
    std: Sequence[float] = ()
    files: Sequence[tuple[str, int]] = ()
    """(name, AssociatedFileType) of files attached to this tensor."""


@dataclass
class Card:
    name: str = "classifier"
    description: str = "Tells five kinds of things apart."
    version: str = "v3"
    author: str = "tfscope tests"
    license: str = "Apache-2.0"
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


def metadata_bytes(card: Card) -> bytes:
    model = schema.ModelMetadataT()
    model.name, model.description, model.version = card.name, card.description, card.version
    model.author, model.license, model.minParserVersion = card.author, card.license, "1.0.0"
    subgraph = schema.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [_tensor(t) for t in card.inputs]
    subgraph.outputTensorMetadata = [_tensor(t) for t in card.outputs]
    model.subgraphMetadata = [subgraph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"M001")
    return bytes(builder.Output())


def _tensor(t: Tensor) -> schema.TensorMetadataT:
    out = schema.TensorMetadataT()
    out.name, out.description = t.name, t.description
    content = schema.ContentT()
    if t.image is not None:
        props = schema.ImagePropertiesT()
        props.colorSpace = schema.ColorSpaceType.RGB
        props.defaultSize = schema.ImageSizeT()
        props.defaultSize.width, props.defaultSize.height = t.image
        content.contentPropertiesType, content.contentProperties = schema.ContentProperties.ImageProperties, props
    elif t.audio is not None:
        audio = schema.AudioPropertiesT()
        audio.sampleRate, audio.channels = t.audio
        content.contentPropertiesType, content.contentProperties = schema.ContentProperties.AudioProperties, audio
    else:
        content.contentPropertiesType = schema.ContentProperties.FeatureProperties
        content.contentProperties = schema.FeaturePropertiesT()
    out.content = content
    if t.mean:
        unit = schema.ProcessUnitT()
        unit.optionsType = schema.ProcessUnitOptions.NormalizationOptions
        unit.options = schema.NormalizationOptionsT()
        unit.options.mean, unit.options.std = list(t.mean), list(t.std)
        out.processUnits = [unit]
    files = []
    for name, kind in t.files:
        f = schema.AssociatedFileT()
        f.name, f.type, f.description = name, kind, f"{name} of {t.name}"
        files.append(f)
    out.associatedFiles = files or None
    return out


def with_metadata(model: bytes, metadata: bytes, files: dict[str, bytes] | None = None) -> bytes:
    """`model` carrying `metadata` in a TFLITE_METADATA buffer, then `files` zipped after it."""
    from tensorflow.lite.python import schema_py_generated as model_schema
    from tensorflow.lite.tools import flatbuffer_utils

    parsed = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    buffer = model_schema.BufferT()
    buffer.data = list(metadata)
    parsed.buffers.append(buffer)
    entry = model_schema.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(parsed.buffers) - 1
    parsed.metadata = [*(parsed.metadata or []), entry]
    out = bytes(flatbuffer_utils.convert_object_to_bytearray(parsed))
    if files:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
        out += archive.getvalue()
    return out
