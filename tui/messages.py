"""Messages that workers post back to the UI (past tense: something has happened)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.formats.kinds import ArtifactKind
from tui.storage import Entry, Location
from tui.storage.resolve import Resolved

if TYPE_CHECKING:  # only the model screen sends these: the browser starts without importing them
    from tui.formats.model_info import ModelInfo
    from tui.runtime.protocol import Devices, Loaded, Placement, RunResult
    from tui.widgets.model.load_status import LoadState


class LocationResolved(Message):
    """What a location the user gave is (an object, a folder, a model folder) is now known."""

    def __init__(self, resolved: Resolved, kind: ArtifactKind | None, open_model: bool) -> None:
        super().__init__()
        self.resolved = resolved
        """The location, with its stat (an object) or its first page (a folder)."""
        self.kind = kind
        """The model format it holds, if it is a model (looked for only when `open_model`, for a folder)."""
        self.open_model = open_model
        """A model opens on its screen (the command line and `g`), rather than being listed."""


class PageListed(Message):
    """A page of a folder's listing arrived; more may follow."""

    def __init__(
        self, location: Location, entries: list[Entry], kinds: dict[Location, ArtifactKind], first: bool
    ) -> None:
        super().__init__()
        self.location = location
        """The folder being listed."""
        self.entries = entries
        """The entries of this page."""
        self.kinds = kinds
        """What the objects' names say they are."""
        self.first = first
        """True for the first page: it replaces what the table showed."""


class ListingFinished(Message):
    """The last page of a folder's listing has arrived."""

    def __init__(self, location: Location, count: int) -> None:
        super().__init__()
        self.location = location
        self.count = count
        """Entries in the whole level."""


class FolderClassified(Message):
    """A peek inside a sub-folder told what kind of artifact it is."""

    def __init__(self, location: Location, kind: ArtifactKind, newest: Location | None = None, versions: int = 0
                 ) -> None:  # fmt: skip
        super().__init__()
        self.location = location
        self.kind = kind
        self.newest = newest
        """For a folder of numbered versions (`versions` of them): the newest, a SavedModel."""
        self.versions = versions


class DetailsFetched(Message):
    """Extra facts about the highlighted entry: a folder's totals or an object's sniffed kind."""

    def __init__(
        self, location: Location, facts: dict[str, str], kind: ArtifactKind | None, contradicted: bool = False
    ) -> None:
        super().__init__()
        self.location = location
        self.facts = facts
        """Label -> value rows to add to the details pane."""
        self.kind = kind
        """The kind the bytes revealed, or the name claims."""
        self.contradicted = contradicted
        """The name claims `kind`, and the first bytes say otherwise."""


class StartResolved(Message):
    """The app worked out where to start when no location was given."""

    def __init__(self, location: Location, notice: str | None) -> None:
        super().__init__()
        self.location = location
        self.notice = notice
        """Why it started there, when the user should know (not signed in)."""


class ModelInspected(Message):
    """The readers finished with a model's metadata."""

    def __init__(self, info: ModelInfo) -> None:
        super().__init__()
        self.info = info


class LoadProgressed(Message):
    """A load moved on: a new phase, or more bytes downloaded. Frequent: consecutive ones coalesce."""

    def __init__(self, state: LoadState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        # Only more bytes of the same phase: a phase (even one that lasted a moment) is always shown.
        return isinstance(message, LoadProgressed) and message.state.phase == self.state.phase


class ModelLoaded(Message):
    """The runtime restored the model (or already held it); its devices and placement came with it."""

    def __init__(self, loaded: Loaded, devices: Devices, placement: Placement, note: str) -> None:
        super().__init__()
        self.loaded, self.devices, self.placement = loaded, devices, placement
        self.note = note
        """What the load did, for the status line: "downloaded 30 MB", "from the cache"..."""


class InferenceFinished(Message):
    """A run finished: per-output stats and timings, and where the model's variables are now."""

    def __init__(self, result: RunResult, placement: Placement) -> None:
        super().__init__()
        self.result, self.placement = result, placement


class ModelRequested(Message):
    """The user asked to open the model at `location` (the app keeps its screen for a return visit)."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location


class ModelMarked(Message):
    """The user marked the model at `location` (`m`), to compare with another by `D`."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location


class DiffRequested(Message):
    """The user asked (`D`) to compare the marked model (or `against`, a version found for them) with the
    one at `location`."""

    def __init__(self, location: Location, against: Location | None = None) -> None:
        super().__init__()
        self.location = location
        self.against = against
