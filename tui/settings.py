"""What the command line decided, handed to the app as one value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Options of one tfscope session.

    Attributes:
        start: The location to open, as typed; None picks the ADC project's buckets or the current folder.
        project: Google Cloud project whose buckets `gs://` lists.
        anonymous: Talk to GCS without credentials (public buckets).
        stable_display: Hide clocks, generations and checksums, for reproducible screenshots and snapshot tests.
    """

    start: str | None = None
    project: str | None = None
    anonymous: bool = False
    stable_display: bool = False
