"""Loading a model for real: fetch it into the cache (GCS) or use it in place (local), then restore it
in the runtime child. Used by the TUI's load key and by `tfscope run`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.errors import TfscopeError
from tui.formats.inspect import list_folder_files
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import Need
from tui.runtime.host import RuntimeHost
from tui.runtime.protocol import Loaded
from tui.storage import Entry, Location, Stores
from tui.storage.cache import DownloadCancelled, ModelCache, ProgressCallback
from tui.storage.local import refuse_special_files
from tui.storage.local_paths import Skipped


@dataclass
class LoadedModel:
    location: Location
    kind: ArtifactKind
    local_path: Path
    downloaded_bytes: int
    loaded: Loaded
    """What the runtime restored: its signatures."""
    skipped: list[Skipped] = field(default_factory=list)
    """Objects of the artifact that were not downloaded: their names cannot be local files."""
    repaired: bool = False
    """The cached copy failed its check and was downloaded again."""


PhaseCallback = Callable[[str], None]


class UnsafeModelError(TfscopeError):
    title = "Refused by safe mode"


def artifact_files(stores: Stores, location: Location) -> list[Entry]:
    """The objects that make up the artifact: every file under a folder, or the one object
    (with its data shards, for a checkpoint's `.index`)."""
    store = stores.for_location(location)
    if location.is_dir:
        return list_folder_files(store, location)
    own = Entry(location, store.stat(location))
    if not location.name.endswith(".index"):
        return [own]
    shard_prefix = location.name.removesuffix(".index") + ".data-"
    shards = [e for page in store.list_level(location.parent) for e in page
              if not e.is_dir and e.name.startswith(shard_prefix)]  # fmt: skip
    return [own, *shards]


def load_model(
    stores: Stores,
    host: RuntimeHost,
    cache: ModelCache,
    location: Location,
    kind: ArtifactKind,
    *,
    unsafe: bool = False,
    device: str | None = None,
    on_phase: PhaseCallback = lambda phase: None,
    on_progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    needs: Sequence[Need] = (),
) -> LoadedModel:
    """Download (through the cache, checked) and restore.

    `needs` are what inspecting the model found loading would require: those that run code from the
    file or reach files outside it are refused unless `unsafe` (the user agreed), before anything
    is downloaded.
    """
    risky = [n.detail for n in needs if n.needs_consent]
    if risky and not unsafe:
        raise UnsafeModelError(
            f"Loading {location.uri} would mean {'; '.join(risky)}.",
            "Only if you trust who saved it: load it again with --unsafe.",
        )
    downloaded, skipped, repaired = 0, [], False
    if location.is_gcs:
        host.prewarm()  # TensorFlow's import (seconds) overlaps the download instead of following it
        on_phase("download")
        files = artifact_files(stores, location)
        cached = cache.fetch(stores.gcs, location, files, progress=on_progress, on_phase=on_phase,
                             cancelled=cancelled)  # fmt: skip
        local, downloaded, skipped, repaired = cached.path, cached.downloaded, cached.skipped, cached.repaired
    else:
        local = Path(location.path)
        refuse_special_files(local)
    if kind is ArtifactKind.CHECKPOINT and local.is_dir():
        local = _checkpoint_prefix(local)
    if cancelled():
        raise DownloadCancelled(f"Stopped loading {location.uri}.")
    if host.warming:
        on_phase("import TensorFlow")  # the download finished first: say what the wait is for
    loaded = host.load(str(local), kind, key=location.uri, unsafe=unsafe, device=device, on_phase=on_phase)
    return LoadedModel(location, kind, local, downloaded, loaded, skipped, repaired)


def _checkpoint_prefix(folder: Path) -> Path:
    """The newest checkpoint prefix in a folder (what tf.train.latest_checkpoint would pick)."""
    state = folder / "checkpoint"
    if state.exists():
        for line in state.read_text(errors="replace").splitlines():
            if line.startswith("model_checkpoint_path:") and line.count('"') >= 2:
                name = line.split('"')[1].rsplit("/", 1)[-1]  # only a name in this folder, never a path elsewhere
                if name and name not in {".", ".."}:
                    return folder / name
    indexes = sorted(folder.glob("*.index"))
    return indexes[-1].with_suffix("") if indexes else folder


def new_output_folder(root: Path, model: str, signature: str) -> Path:
    """A new, empty folder for one run's outputs: `root/<model>-<signature>-<time>`; never one in use."""
    import re
    import time

    def safe(name: str, most: int) -> str:
        return re.sub(r"[^\w.-]+", "_", name)[:most].strip("._") or "model"

    base = root / f"{safe(model, 60)}-{safe(signature, 40)}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(str(base))
