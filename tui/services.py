"""What the screens are given to work with: handed down from the app, never reached for."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.runtime.host import RuntimeHost
from tui.settings import Settings
from tui.storage import Stores
from tui.storage.cache import ModelCache


@dataclass
class Services:
    """The stores, the TensorFlow runtime (started on first load), the model cache, the settings."""

    stores: Stores
    runtime: RuntimeHost = field(default_factory=RuntimeHost)
    cache: ModelCache = field(default_factory=ModelCache.throwaway)
    """Where downloads go: the user's cache, or a throwaway folder removed at exit (--no-cache)."""
    settings: Settings = field(default_factory=Settings)
