"""Class names for top-5 rows: a label file's lines, from a TFLite model's attached file, a SavedModel's
label-like asset, or `--labels FILE`; bounded like every other reader."""

from __future__ import annotations

from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo
from tui.storage import Store, parse_location

MAX_LABELS = 100_000
MAX_LABEL_BYTES = 4 * 1024 * 1024
"""Read of a label file at most: an ImageNet label list is 20 KB; a zip bomb is not read past this."""
LABEL_FILE_WORDS = ("label", "class")
"""A SavedModel asset is taken as a label file when its name holds one of these and ends in .txt."""


def label_lines(data: bytes) -> tuple[str, ...]:
    """Class names, one per line: at most MAX_LABELS, from at most MAX_LABEL_BYTES, each cut at 200 characters."""
    text = data[:MAX_LABEL_BYTES].decode("utf-8", errors="replace")
    return tuple(line.strip()[:200] for line in text.splitlines()[:MAX_LABELS])


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
    location = parse_location(f"{info.location.as_dir().uri}assets/{asset}")
    return label_lines(store.read_range(location, 0, MAX_LABEL_BYTES))
