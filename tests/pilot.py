"""Helpers for driving the app in pilot tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from tui.app import TfscopeApp
from tui.settings import Settings
from tui.storage import GcsStore, Stores


def make_test_app(start: str | None, **settings: object) -> TfscopeApp:
    """The app on `start`; TensorFlow is not started before a load unless `prewarm=True` (it costs every
    pilot that opens a model seconds of CPU)."""
    settings.setdefault("prewarm", False)
    return TfscopeApp(Stores(GcsStore(deadline=5)), Settings(start=start, stable_display=True, **settings))  # type: ignore[arg-type]


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until `condition` holds; fail with a clear message if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker is done and the messages they posted are handled.

    Polls rather than awaiting `wait_for_complete`, which raises when an exclusive worker was
    cancelled by its successor: an ordinary event here.
    """
    app = pilot.app
    for _ in range(3):
        await wait_for(pilot, lambda: not any(w.is_running for w in app.workers))
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def notices(seen: list[object]) -> list[str]:
    """The messages of every notification among the messages a `message_hook` saw, expired ones too:
    a notice that timed out during a slow load still counts as shown."""
    from textual.notifications import Notify

    return [m.notification.message for m in seen if isinstance(m, Notify)]
