"""Messages that workers post back to the UI (past tense: something has happened)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from tui.formats.model_info import ModelInfo
from tui.storage import ArtifactKind, Entry, Location


class PageListed(Message):
    """A page of a folder's listing arrived; more may follow."""

    def __init__(self, location: Location, entries: list[Entry], first: bool) -> None:
        super().__init__()
        self.location = location
        """The folder being listed."""
        self.entries = entries
        """The entries of this page."""
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

    def __init__(self, location: Location, kind: ArtifactKind) -> None:
        super().__init__()
        self.location = location
        self.kind = kind


class DetailsFetched(Message):
    """Extra facts about the highlighted entry: a folder's totals or an object's sniffed kind."""

    def __init__(self, location: Location, facts: dict[str, str], kind: ArtifactKind | None) -> None:
        super().__init__()
        self.location = location
        self.facts = facts
        """Label -> value rows to add to the details pane."""
        self.kind = kind
        """The kind the bytes revealed, when they did."""


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

    def __init__(self, phase: str, done_bytes: int = 0, total_bytes: int = 0, rate: float = 0.0,
                 eta: float | None = None, files: str = "") -> None:  # fmt: skip
        super().__init__()
        self.phase, self.done_bytes, self.total_bytes = phase, done_bytes, total_bytes
        self.rate, self.eta, self.files = rate, eta, files

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgressed)


class ModelLoaded(Message):
    """The runtime restored the model; its devices and where its variables live came with it."""

    def __init__(self, signatures: list[dict[str, Any]], devices: dict[str, Any], placement: dict[str, Any],
                 downloaded: int) -> None:  # fmt: skip
        super().__init__()
        self.signatures, self.devices, self.placement, self.downloaded = signatures, devices, placement, downloaded


class InferenceFinished(Message):
    """A run finished: per-output stats and timings, as the runtime returned them."""

    def __init__(self, result: dict[str, Any], placement: dict[str, Any]) -> None:
        super().__init__()
        self.result, self.placement = result, placement
