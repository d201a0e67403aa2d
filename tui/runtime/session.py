"""Loading a model for real: fetch it into the cache (GCS) or use it in place (local), then restore it
in the runtime child. Used by the TUI's load key and by `tfscope run`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.runtime.host import RuntimeHost
from tui.storage import ArtifactKind, Entry, Location, Stores
from tui.storage.cache import DownloadCancelled, ModelCache, ProgressCallback


@dataclass
class LoadedModel:
    location: Location
    kind: ArtifactKind
    local_path: Path
    downloaded_bytes: int
    signatures: list[dict[str, Any]]


PhaseCallback = Callable[[str], None]


def artifact_files(stores: Stores, location: Location) -> list[Entry]:
    """The objects that make up the artifact: every file under a folder, or the one object."""
    store = stores.for_location(location)
    if location.is_dir:
        return [e for page in store.list_recursive(location) for e in page]
    return [Entry(location, store.stat(location))]


def load_model(
    stores: Stores,
    host: RuntimeHost,
    cache: ModelCache | None,
    location: Location,
    kind: ArtifactKind,
    *,
    unsafe: bool = False,
    device: str | None = None,
    on_phase: PhaseCallback = lambda phase: None,
    on_progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> LoadedModel:
    """Download (through the cache) and restore; `cache=None` downloads to a throwaway folder."""
    downloaded = 0
    if location.is_gcs:
        host.prewarm()  # TensorFlow's import (seconds) overlaps the download instead of following it
        on_phase("download")
        files = artifact_files(stores, location)
        if cache is None:
            import tempfile

            cache = ModelCache(Path(tempfile.mkdtemp(prefix="tfscope-nocache-")))
        local, downloaded = cache.fetch(stores.gcs, location, files, progress=on_progress, cancelled=cancelled)
    else:
        local = Path(location.path)
    if kind is ArtifactKind.CHECKPOINT and local.is_dir():
        local = _checkpoint_prefix(local)
    if cancelled():
        raise DownloadCancelled(f"Stopped loading {location.uri}.")
    if host.warming:
        on_phase("import TensorFlow")  # the download finished first: say what the wait is for
    result = host.request(
        "load",
        doing=f"loading {location.uri}",
        path=str(local),
        kind=kind.value,
        unsafe=unsafe,
        device=device,
        on_event=lambda event: on_phase(str(event.get("phase", ""))),
    )
    return LoadedModel(location, kind, local, downloaded, result["signatures"])


def _checkpoint_prefix(folder: Path) -> Path:
    """The newest checkpoint prefix in a folder (what tf.train.latest_checkpoint would pick)."""
    state = folder / "checkpoint"
    if state.exists():
        for line in state.read_text().splitlines():
            if line.startswith("model_checkpoint_path:"):
                return folder / line.split('"')[1]
    indexes = sorted(folder.glob("*.index"))
    return indexes[-1].with_suffix("") if indexes else folder
