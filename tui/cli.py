"""Command line: argv -> Settings -> the app (or a headless command)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui import __version__
from tui.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope",
        description="Browse and triage TensorFlow models in Google Cloud Storage buckets and on local disk.",
        epilog="Keys: ? in the app lists them. Docs: README.md.",
    )
    parser.add_argument("location", nargs="?", help="gs://bucket/prefix or a local folder (default: your buckets, "
                        "or the current folder when not signed in)")  # fmt: skip
    parser.add_argument("--project", help="Google Cloud project whose buckets gs:// lists")
    parser.add_argument("--anonymous", action="store_true", help="use no credentials (public buckets)")
    parser.add_argument("--demo", action="store_true",
                        help="start a local GCS emulator seeded with demo models and browse it")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tfscope {__version__}")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(start=args.location, project=args.project, anonymous=args.anonymous)


def make_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The app with real stores. Imports stay here so `tfscope --help` costs no Textual import."""
    from tui.app import TfscopeApp
    from tui.storage import GcsStore, Stores

    return TfscopeApp(Stores(GcsStore(project=settings.project, anonymous=settings.anonymous)), settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    if args.demo:
        from tui.demo import run_demo

        return run_demo(settings)
    make_app(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
