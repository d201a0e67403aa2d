"""Artifact detection by structure and magic bytes, not just by extension.

A folder's kind comes from the listing already fetched for it (no extra request); an object's
kind from its name, confirmed by its first bytes where those are at hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.storage.base import ArtifactKind, Entry

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
TFLITE_MAGIC = b"TFL3"  # FlatBuffers file identifier, at offset 4
SNIFF_BYTES = 8
"""How many leading bytes `kind_from_magic` needs."""

_EXTENSIONS = {
    ".keras": ArtifactKind.KERAS,
    ".h5": ArtifactKind.HDF5,
    ".hdf5": ArtifactKind.HDF5,
    ".tflite": ArtifactKind.TFLITE,
}


def folder_kind(names: Iterable[str]) -> ArtifactKind | None:
    """The kind of a folder from the names directly inside it ("variables/" for a sub-folder).

    A SavedModel has `saved_model.pb` or `saved_model.pbtxt`; a checkpoint folder has a
    `checkpoint` state file or an `.index` file with its `.data-` shards.
    """
    names = set(names)
    if names & {"saved_model.pb", "saved_model.pbtxt"}:
        return ArtifactKind.SAVED_MODEL
    if "checkpoint" in names or checkpoint_prefixes(names):
        return ArtifactKind.CHECKPOINT
    return None


def checkpoint_prefixes(names: Iterable[str]) -> set[str]:
    """Checkpoint prefixes (`ckpt-3` for `ckpt-3.index`) whose index has at least one data shard."""
    names = set(names)
    indexes = {n[: -len(".index")] for n in names if n.endswith(".index")}
    return {p for p in indexes if any(n.startswith(p + ".data-") for n in names)}


def kind_from_name(name: str, sibling_names: Iterable[str] = ()) -> ArtifactKind | None:
    """A tentative kind from an object's name; `.index` counts only beside its data shards."""
    lowered = name.lower()
    for ext, kind in _EXTENSIONS.items():
        if lowered.endswith(ext):
            return kind
    if name.endswith(".index") and name[: -len(".index")] in checkpoint_prefixes([name, *sibling_names]):
        return ArtifactKind.CHECKPOINT
    return None


def kind_from_magic(head: bytes, name: str = "") -> ArtifactKind | None:
    """The kind of an object from its first bytes (at least SNIFF_BYTES of them).

    A zip counts as Keras v3 only when named `.keras`: plenty of other zips exist.
    """
    if head.startswith(HDF5_MAGIC):
        return ArtifactKind.HDF5
    if head[4:8] == TFLITE_MAGIC:
        return ArtifactKind.TFLITE
    if head.startswith(ZIP_MAGIC) and name.lower().endswith(".keras"):
        return ArtifactKind.KERAS
    return None


def classify_level(entries: list[Entry]) -> list[Entry]:
    """Mark the objects of one listed level with their tentative kind."""
    names = [e.name for e in entries]
    return [e if e.is_dir or e.kind else e.with_kind(kind_from_name(e.name, names)) for e in entries]
