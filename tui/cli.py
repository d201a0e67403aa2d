"""Command line: argv -> Settings -> the app, or a headless command (tui/headless.py).

Options every command shares are defined once, in parent parsers; `tfscope --help` names the commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tui import __version__
from tui.runtime.protocol import MAX_INPUT_BYTES
from tui.settings import Settings

COMMANDS = ("inspect", "diff", "scan", "run", "devices")
EPILOG = """commands (each has --help):
  tfscope inspect URI [--json]     what a model is, read from its bytes, without TensorFlow
  tfscope diff A B [--json]        what changed between two models (any formats), without TensorFlow
  tfscope scan URI [--json]        every model under a prefix or folder, and what each can do
  tfscope run URI [--input ...]    load it in a TensorFlow process, run a signature, print stats
  tfscope devices [--json]         the CPUs, GPUs and TPUs TensorFlow sees here

In the app, ? lists the keys."""


def storage_options() -> argparse.ArgumentParser:
    """--project and --anonymous: how gs:// is reached."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("storage")
    group.add_argument("--project", help="Google Cloud project (whose buckets gs:// lists; requester-pays)")
    group.add_argument("--anonymous", action="store_true", help="use no credentials (public buckets)")
    return parser


def loading_options() -> argparse.ArgumentParser:
    """--cache-dir, --no-cache, --unsafe and --allow-findings: how a model is fetched and loaded."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("loading")
    group.add_argument("--cache-dir", type=Path, help="where downloaded models are kept (default: user cache)")
    group.add_argument("--no-cache", action="store_true", help="download to a temporary folder, keep nothing")
    group.add_argument("--unsafe", action="store_true",
                       help="allow loading models that run Python code (Keras Lambda layers) or read files "
                       "on this machine: only for files you trust")  # fmt: skip
    group.add_argument("--allow-findings", action="store_true",
                       help="load models whose graph reads, writes or lists files, reaches the network or runs "
                       "Python (`inspect` lists these findings): only for models you trust")  # fmt: skip
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope",
        usage="tfscope [options] [LOCATION]\n       tfscope {inspect,diff,scan,run,devices} ...",
        description="Browse and triage TensorFlow models in Google Cloud Storage buckets and on local disk.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[storage_options(), loading_options()],
    )
    parser.add_argument("location", nargs="?", help="gs://bucket/prefix or a local folder (default: your buckets, "
                        "or the current folder when not signed in)")  # fmt: skip
    parser.add_argument("--demo", action="store_true",
                        help="start a local GCS emulator seeded with demo models and browse it")  # fmt: skip
    parser.add_argument("--no-prewarm", action="store_true",
                        help="start TensorFlow on the first load, not when a model opens (saves ~550 MB)")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tfscope {__version__}")
    return parser


def build_inspect_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope inspect", parents=[storage_options()],
        description="Print what a model is (signatures, layers, variables, ops) without loading TensorFlow.",
    )  # fmt: skip
    parser.add_argument("location", help="gs://bucket/path or a local path to a model folder or file")
    parser.add_argument("--json", action="store_true", help="print JSON (documented in the README)")
    return parser


class ScanArgumentParser(argparse.ArgumentParser):
    """Usage errors exit with 4, as ModelScan's do: 1 and 2 mean findings and unread models."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(4, f"{self.prog}: error: {message}\n")


def build_diff_parser() -> argparse.ArgumentParser:
    parser = ScanArgumentParser(
        prog="tfscope diff", parents=[storage_options(), loading_options()],
        description="Compare two models (any formats, local or gs://) from their bytes, without TensorFlow: new "
        "findings first, then signatures, layers, variables, parameters, ops, versions and size.",
        epilog="exit codes: 0 the same; 1 different; 2 a model could not be read; 4 usage",
    )  # fmt: skip
    parser.add_argument("location", metavar="A", help="the model before: gs://bucket/path or a local path")
    parser.add_argument("other", metavar="B", nargs="?",
                        help="the model after; without it, A is a folder of numbered versions (TF Serving's "
                        "layout) and its two newest are compared")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document (documented in the README)")
    parser.add_argument("--run", action="store_true",
                        help="also load both (TensorFlow, through the cache), feed them the same inputs and compare "
                        "their outputs")  # fmt: skip
    add_input_options(parser, default_source="random")
    parser.add_argument("--seed", type=non_negative, default=0, help="seed of random inputs (default 0)")
    parser.add_argument("--tolerance", type=tolerance, default=1e-5,
                        help="outputs agree when no value differs by more than this (default %(default)g)")  # fmt: skip
    return parser


def build_scan_parser() -> argparse.ArgumentParser:
    parser = ScanArgumentParser(
        prog="tfscope scan", parents=[storage_options()],
        description="Find every model under a gs:// prefix or local folder (SavedModel, .keras, .h5, checkpoint, "
        ".tflite), read each without TensorFlow, in parallel, and list them with what each can do to the machine "
        "that loads it (files, network, Python).",
        epilog="exit codes: 0 no findings; 1 some model has findings; 2 none found, but some model or the listing "
        "could not be read; 3 no model found; 4 usage",
    )  # fmt: skip
    parser.add_argument("location", help="gs://bucket/prefix or a local folder (or one model file)")
    parser.add_argument("--json", action="store_true", help="print one JSON document (documented in the README)")
    parser.add_argument("--jobs", type=positive, default=16, help="models read at once (default 16)")
    return parser


def build_run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope run", parents=[storage_options(), loading_options()],
        description="Load a model (through the cache) in a TensorFlow child process, run it, print stats and "
        "timings. Signatures, input names, value sources and shapes are checked before TensorFlow starts.",
    )  # fmt: skip
    parser.add_argument("location", help="gs://bucket/path or a local path to a model")
    add_input_options(parser, default_source="zeros")
    parser.add_argument("--repeat", type=non_negative, default=10,
                        help="warm runs timed after the first call (default 10)")  # fmt: skip
    parser.add_argument("--labels", metavar="FILE", help="class names, one per line (local or gs://), for top-5 "
                        "(default: the model's own label file, if it carries one)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON (documented in the README)")
    return parser


def add_input_options(parser: argparse.ArgumentParser, default_source: str) -> None:
    """--signature, --input, --shape, --device, --max-input-mb: what one inference is fed, and where."""
    group = parser.add_argument_group("inference")
    group.add_argument("--signature", help="signature to run (default: serving_default, or the model's call)")
    group.add_argument("--input", action="append", default=[], metavar="NAME=VALUE",
                       help="zeros|ones|random|uniform|normal|FILE.npy|FILE.npz[:KEY]|JSON|text|"
                       "PICTURE (.jpg .png .bmp .gif)|CLIP.wav "
                       f"(repeatable; default {default_source})")  # fmt: skip
    group.add_argument("--shape", action="append", default=[], metavar="NAME=D,D,...",
                       help="shape for an input with unknown dims (default: unknown dims are 1)")  # fmt: skip
    group.add_argument("--device", help="device to run on, e.g. /GPU:0 (default: TensorFlow's choice)")
    group.add_argument("--normalize", choices=["0..1", "-1..1", "imagenet", "raw"],
                       help="how a picture's 0..255 pixels are scaled for a float input (default: as the model's "
                       "metadata says, else 0..1 with a warning)")  # fmt: skip
    group.add_argument("--max-input-mb", type=positive, default=MAX_INPUT_BYTES // 1_000_000,
                       help="the most one input may take, made or read, in MB (default %(default)s)")  # fmt: skip


def build_devices_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfscope devices", description="List TensorFlow's devices.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def tolerance(text: str) -> float:
    """An argparse type: a finite number of 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of 0 or more")
    return value


def positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    value = non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def non_negative(text: str) -> int:
    """An argparse type: a whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in COMMANDS:
        return run_headless(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    settings = Settings.from_args(args)
    if args.demo:
        from tui.demo import run_demo

        return leave(run_demo(settings))
    from tui.launch import make_app

    make_app(settings).run()
    return leave(0)


def run_headless(command: str, argv: Sequence[str]) -> int:
    """A headless command, ended by ctrl+c, a closed terminal or `kill` with its cleanup done
    (temporary folders, the TensorFlow child) and one line, never a traceback."""
    import signal

    from tui import headless

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        if command == "inspect":
            return headless.inspect(build_inspect_parser().parse_args(argv))
        if command == "diff":
            return headless.diff(build_diff_parser().parse_args(argv))
        if command == "scan":
            return headless.scan(build_scan_parser().parse_args(argv))
        if command == "run":
            return headless.run(build_run_parser().parse_args(argv))
        return headless.devices(build_devices_parser().parse_args(argv))
    except KeyboardInterrupt:
        print("tfscope: stopped.", file=sys.stderr)
        return 130


def leave(code: int) -> int:
    """Return `code` once the app has quit; if threads still work (a read the user walked away from,
    a transfer waiting out its stall timeout), exit now rather than wait for them: quitting quits."""
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        import atexit

        atexit._run_exitfuncs()  # throwaway caches, helper processes
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
