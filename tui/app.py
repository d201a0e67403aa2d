"""The tfscope App: holds the services and the settings, starts on the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from tui.commands import ScreenActionsProvider
from tui.errors import TfscopeError
from tui.formatting import printable
from tui.messages import DiffRequested, ModelInspected, ModelMarked, ModelRequested, StartResolved
from tui.runtime.host import RuntimeHost
from tui.screens.browser import BrowserScreen
from tui.services import Services
from tui.settings import Settings
from tui.storage import Location, Stores, parse_location
from tui.storage.cache import ModelCache
from tui.storage.uri import GCS_SCHEME

if TYPE_CHECKING:
    from tui.screens.model import ModelScreen


SIGN_IN_NOTICE = (
    "Not signed in to Google Cloud, so this is the current folder. "
    "Sign in with `gcloud auth application-default login`, or open a public bucket with --anonymous."
)


class TfscopeApp(App[None]):
    """Browse models in buckets and folders; services are handed in so tests can pick them."""

    CSS_PATH = "app.tcss"
    TITLE = "tfscope"
    COMMANDS = App.COMMANDS | {ScreenActionsProvider}
    BINDINGS = [
        # Textual makes ctrl+c copy; in a terminal program people press it to leave, over SSH above all.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app-quit", tooltip="Leave tfscope"),
    ]

    def __init__(
        self,
        stores: Stores,
        settings: Settings | None = None,
        runtime: RuntimeHost | None = None,
        cache: ModelCache | None = None,
    ) -> None:
        super().__init__()
        self.stores = stores
        self.settings = settings or Settings()
        self.services = Services(stores, runtime or RuntimeHost(), cache or ModelCache.throwaway(), self.settings)
        self.browser = BrowserScreen(self.services)
        self.model_screen: ModelScreen | None = None
        """The last model opened: kept (installed) so that going back and opening it again finds it as it was."""

    def on_unmount(self) -> None:
        self.services.runtime.stop()  # the TensorFlow child goes with the app
        self.services.cache.close()  # a throwaway cache (--no-cache) goes too

    async def on_mount(self) -> None:
        await self.push_screen(self.browser)
        if self.settings.start:
            self.browser.go_to_text(self.settings.start, open_model=True)
        else:
            self._resolve_start()

    @work(thread=True, exit_on_error=False, group="start", description="look for credentials")
    def _resolve_start(self) -> None:
        """No location given: the ADC project's buckets if there are credentials, else this folder."""
        try:
            has_project = self.stores.gcs.client().project is not None
        except TfscopeError:
            has_project = False
        if get_current_worker().is_cancelled:
            return
        if has_project:
            self.post_message(StartResolved(Location(GCS_SCHEME), None))
        else:
            self.post_message(StartResolved(parse_location("."), SIGN_IN_NOTICE))

    def on_model_requested(self, message: ModelRequested) -> None:
        """Open the model screen: the one kept from before for the same model, else a new one."""
        from tui.screens.model import ModelScreen  # here, not at the top: the browser paints without it

        kept = self.model_screen
        if kept is not None and kept.location == message.location and kept.is_mounted:
            self.push_screen(kept)
            return
        if kept is not None:  # another model: the old screen goes (what the runtime holds is replaced on load)
            self.uninstall_screen(kept)
            kept.remove()
        self.model_screen = ModelScreen(self.services, message.location)
        self.install_screen(self.model_screen, f"model:{message.location.uri}")
        self.push_screen(self.model_screen)

    def on_model_inspected(self, message: ModelInspected) -> None:
        """A model was read, on its screen or by a scan (the message bubbles up from there): the browser
        marks its row with what it can do."""
        self.browser.learn_findings(message.info)

    def on_model_marked(self, message: ModelMarked) -> None:
        """`m` on a row or a model screen: the browser keeps the mark for D."""
        self.browser.marked = message.location
        self.notify(f"Marked {printable(message.location.uri)}: press D on another model to compare.", timeout=4,
                    markup=False)  # fmt: skip

    def on_diff_requested(self, message: DiffRequested) -> None:
        """`D`: the marked model (or the version the browser found) against this one."""
        from tui.screens.diff import DiffScreen

        marked = message.against or self.browser.marked
        if marked is None or marked == message.location:
            self.notify("Mark a model with m first (in the browser or on its screen), then press D on the other.",
                        severity="warning", timeout=4)  # fmt: skip
            return
        self.push_screen(DiffScreen(self.services, marked, message.location))

    def on_start_resolved(self, message: StartResolved) -> None:
        self.browser.navigate(message.location)
        if message.notice:
            self.notify(message.notice, title="Showing the current folder", severity="warning", timeout=10,
                        markup=False)  # fmt: skip
