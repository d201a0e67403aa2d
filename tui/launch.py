"""Where a session's parts are built from its Settings, in one place: the stores, the model cache,
the app. The command line and the demo both start here. Imports stay inside the functions, so
`tfscope --help` costs no Textual or GCS client import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tui.settings import Settings

if TYPE_CHECKING:
    from tui.app import TfscopeApp
    from tui.storage import Stores
    from tui.storage.cache import ModelCache


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tfscope")) / "models"


def open_stores(settings: Settings) -> Stores:
    """Local disk and GCS (with the project and credentials the settings name)."""
    from tui.storage import GcsStore, Stores

    return Stores(GcsStore(project=settings.project, anonymous=settings.anonymous))


def open_cache(settings: Settings) -> ModelCache:
    """The model cache the settings ask for: a throwaway one (--no-cache), or a folder (the user cache)."""
    from tui.storage.cache import ModelCache

    return ModelCache.throwaway() if settings.no_cache else ModelCache(settings.cache_dir or default_cache_dir())


def make_app(settings: Settings) -> TfscopeApp:
    """The app with real stores and the cache."""
    from tui.app import TfscopeApp

    return TfscopeApp(open_stores(settings), settings, cache=open_cache(settings))
