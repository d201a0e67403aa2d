"""LocalStore and location parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.errors import InvalidUriError, NotFoundError
from tui.formats.kinds import ArtifactKind
from tui.formats.registry import kinds_by_name
from tui.storage import LocalStore, Location, parse_location


def test_parse_gcs() -> None:
    loc = parse_location("gs://bucket/models/a/")
    assert (loc.bucket, loc.path, loc.is_dir, loc.name) == ("bucket", "models/a/", True, "a/")
    assert loc.parent == parse_location("gs://bucket/models/")
    assert loc.parent.parent == parse_location("gs://bucket/")
    assert loc.parent.parent.parent == parse_location("gs://")
    assert parse_location("gs://").child("bucket/") == parse_location("gs://bucket/")
    assert parse_location("gs://bucket/m.h5").is_dir is False


@pytest.mark.parametrize("text", ["s3://bucket/x", "gs://UPPER/x", "gs://a/x"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidUriError):
        parse_location(text)


def test_parse_local(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert parse_location("sub", cwd=tmp_path) == Location("file", path=f"{tmp_path}/sub/")
    assert parse_location(f"{tmp_path}/sub/x.h5").name == "x.h5"
    assert parse_location("/").parent == parse_location("/")


def test_local_listing_marks_models(model_files: Path) -> None:
    store = LocalStore()
    folder = parse_location(str(model_files / "models" / "image"))
    entries = [e for page in store.list_level(folder) for e in page]
    kinds = {location.name: kind for location, kind in kinds_by_name(entries).items()}
    assert kinds == {"tiny_cnn.h5": ArtifactKind.HDF5, "tiny_cnn.keras": ArtifactKind.KERAS}
    assert all(e.stat and e.stat.size > 0 for e in entries)


def test_local_reads_and_errors(model_files: Path, tmp_path: Path) -> None:
    store = LocalStore()
    h5 = parse_location(str(model_files / "models" / "image" / "tiny_cnn.h5"))
    assert store.read_range(h5, 0, 8) == b"\x89HDF\r\n\x1a\n"
    assert store.read_range(h5, -4, 4) == Path(h5.path).read_bytes()[-4:]
    with pytest.raises(NotFoundError, match="nowhere"):
        list(store.list_level(parse_location(str(tmp_path / "nowhere"))))
    store.download(h5, tmp_path / "copy.h5")
    assert (tmp_path / "copy.h5").read_bytes() == Path(h5.path).read_bytes()
