"""Command line: argv -> Settings -> the app (or a headless command)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tui import __version__
from tui.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope",
        description="Browse and triage TensorFlow models in Google Cloud Storage buckets and on local disk.",
        epilog="Headless: `tfscope inspect URI [--json]` prints a model's signatures, layers and variables. "
        "Keys: ? in the app lists them.",
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


def build_inspect_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope inspect",
        description="Print what a model is (signatures, layers, variables, ops) without loading TensorFlow.",
    )
    parser.add_argument("location", help="gs://bucket/path or a local path to a model folder or file")
    parser.add_argument("--json", action="store_true", help="print JSON (documented in the README)")
    parser.add_argument("--project", help="Google Cloud project (for requester-pays buckets)")
    parser.add_argument("--anonymous", action="store_true", help="use no credentials (public buckets)")
    return parser


def run_inspect(argv: Sequence[str]) -> int:
    """`tfscope inspect`: one model, printed; a one-line error and exit code 1 on failure."""
    import json

    from tui.errors import TfscopeError
    from tui.formats.inspect import inspect_model
    from tui.formats.report import to_json, to_text
    from tui.storage import GcsStore, Stores, parse_location

    args = build_inspect_parser().parse_args(argv)
    try:
        location = parse_location(args.location)
        stores = Stores(GcsStore(project=args.project, anonymous=args.anonymous))
        info = inspect_model(stores.for_location(location), location)
    except TfscopeError as error:
        print(f"tfscope: {error.one_line()}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(to_json(info), indent=2) if args.json else to_text(info))
    except BrokenPipeError:  # `tfscope inspect ... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["inspect"]:
        return run_inspect(argv[1:])
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    if args.demo:
        from tui.demo import run_demo

        return run_demo(settings)
    make_app(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
