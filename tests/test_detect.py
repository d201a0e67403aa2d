"""Artifact detection by structure and magic bytes, on real files made by TF/Keras."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.formats.kinds import ArtifactKind
from tui.formats.registry import SNIFF_BYTES, folder_kind, kind_from_magic, kind_from_name


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("models/image/tiny_cnn.keras", ArtifactKind.KERAS),
        ("models/image/tiny_cnn.h5", ArtifactKind.HDF5),
        ("models/mobile/tiny_cnn.tflite", ArtifactKind.TFLITE),
        ("broken/not_a_model.keras", None),
        ("README.txt", None),
    ],
)
def test_magic_bytes(model_files: Path, path: str, kind: ArtifactKind | None) -> None:
    head = (model_files / path).read_bytes()[:SNIFF_BYTES]
    assert kind_from_magic(head, path) is kind


def test_magic_bytes_ignore_the_name(model_files: Path) -> None:
    """A TFLite or HDF5 file renamed to .bin is still found; a zip is a Keras model only if named so."""
    tflite = (model_files / "models/mobile/tiny_cnn.tflite").read_bytes()[:SNIFF_BYTES]
    assert kind_from_magic(tflite, "model.bin") is ArtifactKind.TFLITE
    keras = (model_files / "models/image/tiny_cnn.keras").read_bytes()[:SNIFF_BYTES]
    assert kind_from_magic(keras, "archive.zip") is None


@pytest.mark.parametrize(
    ("folder", "kind"),
    [
        ("serving/tiny_cnn/1", ArtifactKind.SAVED_MODEL),
        ("models/text/classifier", ArtifactKind.SAVED_MODEL),
        ("checkpoints/tiny_cnn", ArtifactKind.CHECKPOINT),
        ("serving/tiny_cnn/1/variables", ArtifactKind.CHECKPOINT),
        ("models", None),
        ("datasets/imagenet", None),
    ],
)
def test_folder_kind(model_files: Path, folder: str, kind: ArtifactKind | None) -> None:
    names = [p.name + "/" if p.is_dir() else p.name for p in (model_files / folder).iterdir()]
    assert folder_kind(names) is kind


def test_index_needs_its_data_shard() -> None:
    assert kind_from_name("ckpt-1.index", ["ckpt-1.data-00000-of-00001"]) is ArtifactKind.CHECKPOINT
    assert kind_from_name("ckpt-1.index", ["other.data-00000-of-00001"]) is None
    assert folder_kind(["checkpoint"]) is ArtifactKind.CHECKPOINT


def test_kinds_by_name_reads_a_page_once_and_agrees_with_kind_from_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's names are gathered into one set that every sibling check shares (a copy per entry made
    a 1,000-entry page cost a million insertions), and the kinds are what kind_from_name says entry by entry."""
    import dataclasses

    from tui.formats import registry
    from tui.storage import Entry, Location

    names = [f"part-{i:05d}.tfrecord" for i in range(2000)]
    names += ["ckpt-1.index", "ckpt-1.data-00000-of-00001", "ckpt-2.index", "lonely.index", "BIG.H5", "m.keras",
              "m.tflite", "x.hdf5", "folder.h5/", "sub/", "notes.txt", "saved_model.pb"]  # fmt: skip
    page = [Entry(Location("gs", "b", f"p/{name}")) for name in names]
    sibling_sets: list[object] = []
    checkpoint = registry.format_of(ArtifactKind.CHECKPOINT)
    assert checkpoint.sibling_match is not None
    match = checkpoint.sibling_match

    def spy(name: str, siblings: set[str]) -> bool:
        sibling_sets.append(siblings)
        return match(name, siblings)

    spied = dataclasses.replace(checkpoint, sibling_match=spy)
    monkeypatch.setattr(registry, "FORMATS", tuple(spied if f is checkpoint else f for f in registry.FORMATS))

    kinds = registry.kinds_by_name(page)
    shared = {id(siblings) for siblings in sibling_sets}  # the spy keeps them: no id is reused

    expected = {e.location: kind_from_name(e.name, names) for e in page if not e.is_dir}
    assert kinds == {location: kind for location, kind in expected.items() if kind is not None}
    assert {e.name for e in page if e.location in kinds} == {"ckpt-1.index", "BIG.H5", "m.keras", "m.tflite", "x.hdf5"}
    assert len(shared) == 1  # three .index names asked, with one set between them
