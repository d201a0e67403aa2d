"""The model formats tfscope reads: a stable id for machines, a label for people."""

from __future__ import annotations

import enum


class ArtifactKind(enum.Enum):
    """A model format. The value is its stable id: the JSON's `format`, the runtime child's loader key."""

    SAVED_MODEL = "saved_model"
    KERAS = "keras_v3"
    HDF5 = "keras_h5"
    CHECKPOINT = "checkpoint"
    TFLITE = "tflite"

    @property
    def label(self) -> str:
        """What a person reads: `SavedModel`, `Keras v3` ..."""
        return _LABELS[self]


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
TFLITE_MAGIC = b"TFL3"
"""A FlatBuffers file identifier, at offset 4."""

_LABELS = {
    ArtifactKind.SAVED_MODEL: "SavedModel",
    ArtifactKind.KERAS: "Keras v3",
    ArtifactKind.HDF5: "Keras HDF5",
    ArtifactKind.CHECKPOINT: "Checkpoint",
    ArtifactKind.TFLITE: "TFLite",
}
