"""One exception family for everything a user can cause or meet.

Each error carries a short title, the detail of what went wrong and the fix, so the UI and the
headless commands can show an actionable message instead of a traceback.
"""

from __future__ import annotations

from tui.formatting import printable


class TfscopeError(Exception):
    """Base of every error tfscope shows to a user.

    Attributes:
        title: A few words naming the problem ("Bucket not found").
        detail: What happened, with the names involved.
        fix: What the user can do about it.
    """

    title = "Something went wrong"

    def __init__(self, detail: str, fix: str = "", *, title: str | None = None) -> None:
        # Details quote object names and library messages: made printable once, here, for every screen.
        # Line breaks stay (a crash's last lines); the headless commands join them (one_line).
        detail, fix = printable(detail, keep_newlines=True), printable(fix)
        super().__init__(detail)
        self.detail = detail
        self.fix = fix
        if title is not None:
            self.title = printable(title)

    @classmethod
    def wrap(cls, error: BaseException | None, fix: str = "") -> TfscopeError:
        """`error` itself if it is one of ours, else a TfscopeError naming the unexpected exception."""
        if isinstance(error, TfscopeError):
            return error
        return TfscopeError(f"{type(error).__name__}: {error}", fix, title="Unexpected error")

    def one_line(self) -> str:
        """The error as a single line, for headless commands and logs."""
        detail = " | ".join(line.strip() for line in self.detail.splitlines() if line.strip())
        text = f"{self.title}: {detail}"
        return f"{text} Fix: {self.fix}" if self.fix else text

    def __str__(self) -> str:
        return self.one_line()


class NoCredentialsError(TfscopeError):
    title = "Not signed in to Google Cloud"


class AccessDeniedError(TfscopeError):
    title = "Access denied"


class NotFoundError(TfscopeError):
    title = "Not found"


class NetworkError(TfscopeError):
    title = "Network unreachable"


class ServerError(TfscopeError):
    title = "Storage server error"


class EmulatorNotRunningError(TfscopeError):
    title = "Storage emulator not running"


class InvalidUriError(TfscopeError):
    title = "Not a valid location"


class CorruptArtifactError(TfscopeError):
    title = "Corrupt or unreadable file"


class BadAnswerError(TfscopeError):
    """A storage server answered with something the GCS JSON API never sends."""

    title = "Bad answer from storage"


class ListingStoppedError(TfscopeError):
    """A listing reached one of its caps (entries, time) before it ended."""

    title = "Listing stopped"


class FileTooLargeError(TfscopeError):
    """A download refused before it began: the file is larger than the caller allows."""

    title = "File too large"
