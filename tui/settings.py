"""What the command line decided, handed to the app as one value."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


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
    unsafe: bool = False
    """Allow loading models that run Python code (Keras Lambda layers), after a confirmation."""
    allow_findings: bool = False
    """Load models whose graph acts on this machine (files, network, Python) without asking first."""
    cache_dir: Path | None = None
    """Where downloaded models are kept; None: the user cache folder."""
    no_cache: bool = False
    """Download to a throwaway folder and keep nothing."""
    prewarm: bool = True
    """Start TensorFlow's process when a model screen opens, so loading costs the download and the restore
    only (it holds ~550 MB while idle, and no CPU); --no-prewarm starts it on the first load."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """What any command's parsed options describe (options a command lacks keep their defaults)."""
        return cls(
            start=args.location, project=args.project, anonymous=args.anonymous,
            unsafe=getattr(args, "unsafe", False), allow_findings=getattr(args, "allow_findings", False),
            cache_dir=getattr(args, "cache_dir", None),
            no_cache=getattr(args, "no_cache", False), prewarm=not getattr(args, "no_prewarm", False),
        )  # fmt: skip
