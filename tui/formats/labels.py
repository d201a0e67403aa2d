"""Class names for top-5 rows: a label file's lines, from a TFLite model's attached file, a SavedModel's
label-like asset, or `--labels FILE`; bounded like every other reader."""

from __future__ import annotations

from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo
from tui.storage import Location, Store, parse_location

MAX_LABELS = 100_000
MAX_LABEL_BYTES = 4 * 1024 * 1024
"""Read of a label file at most: an ImageNet label list is 20 KB; a zip bomb is not read past this."""
LABEL_FILE_WORDS = ("label", "class")
"""A SavedModel asset is taken as a label file when its name holds one of these and ends in .txt."""


def label_lines(data: bytes) -> tuple[str, ...]:
    """Class names, one per line: at most MAX_LABELS, from at most MAX_LABEL_BYTES, each cut at 200 characters.

    Lines end at "\n" (and "\r\n") only: str.splitlines also splits at form feeds and Unicode separators,
    which would shift every later class by one against TensorFlow's line-per-class reading."""
    text = data[:MAX_LABEL_BYTES].decode("utf-8", errors="replace")
    lines = text.split("\n", MAX_LABELS)[:MAX_LABELS]
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return tuple(line.removesuffix("\r").strip()[:200] for line in lines)


def read_label_file(store: Store, location: Location) -> tuple[str, ...]:
    """The class names in a label file, read up to MAX_LABEL_BYTES."""
    return label_lines(store.read_range(location, 0, MAX_LABEL_BYTES))


def label_asset(info: ModelInfo) -> str | None:
    """The SavedModel asset that looks like a label file (`assets/labels.txt`, `imagenet_classes.txt`), if one."""
    if info.kind is not ArtifactKind.SAVED_MODEL:
        return None
    found = [a for a in info.assets if a.lower().endswith(".txt") and any(w in a.lower() for w in LABEL_FILE_WORDS)]
    return found[0] if len(found) == 1 else None


def read_label_asset(store: Store, info: ModelInfo) -> tuple[str, ...]:
    """The class names of a SavedModel's label-like asset (see label_asset); () when it has none."""
    asset = label_asset(info)
    if asset is None:
        return ()
    return read_label_file(store, parse_location(f"{info.location.as_dir().uri}assets/{asset}"))
