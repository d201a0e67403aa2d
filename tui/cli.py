"""Command line: argv -> Settings -> the app (or a headless command)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui import __version__
from tui.settings import Settings

if TYPE_CHECKING:
    from tui.app import TfscopeApp
    from tui.runtime.protocol import InputSource, RunResult
    from tui.storage import Stores
    from tui.storage.local_paths import Skipped


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
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="allow loading models that run Python code (Keras Lambda layers), after a confirmation",
    )
    parser.add_argument("--cache-dir", type=Path, help="where downloaded models are kept (default: user cache)")
    parser.add_argument("--no-cache", action="store_true", help="download models to a temporary folder, keep nothing")
    parser.add_argument("--no-prewarm", action="store_true",
                        help="start TensorFlow on the first load, not when a model opens (saves ~550 MB)")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tfscope {__version__}")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(start=args.location, project=args.project, anonymous=args.anonymous, unsafe=args.unsafe,
                    cache_dir=args.cache_dir, no_cache=args.no_cache, prewarm=not args.no_prewarm)  # fmt: skip


def make_app(settings: Settings) -> TfscopeApp:
    """The app with real stores. Imports stay here so `tfscope --help` costs no Textual import."""
    from tui.app import TfscopeApp
    from tui.storage import GcsStore, Stores
    from tui.storage.cache import ModelCache

    stores = Stores(GcsStore(project=settings.project, anonymous=settings.anonymous))
    cache = ModelCache.throwaway() if settings.no_cache else ModelCache(settings.cache_dir or default_cache_dir())
    return TfscopeApp(stores, settings, cache=cache)


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
    print_output(json.dumps(to_json(info), indent=2) if args.json else to_text(info))
    return 0


def build_run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfscope run",
        description="Load a model (through the cache) in a TensorFlow child process, run it, print stats and timings.",
    )
    parser.add_argument("location", help="gs://bucket/path or a local path to a model")
    parser.add_argument("--signature", help="signature to run (default: serving_default, or the model's call)")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="zeros|ones|random|uniform|FILE.npy|FILE.npz[:KEY]|JSON|text (repeatable; default zeros)",
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=D,D,...",
        help="shape for an input with unknown dims (default: unknown dims are 1)",
    )
    parser.add_argument("--device", help="device to run on, e.g. /GPU:0 (default: TensorFlow's choice)")
    parser.add_argument("--repeat", type=non_negative, default=10,
                        help="warm runs timed after the first call (default 10)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON (documented in the README)")
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="allow loading models that run Python code (Keras Lambda layers): only for trusted files",
    )
    _add_storage_flags(parser)
    return parser  # fmt: skip


def _add_storage_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", help="Google Cloud project")
    parser.add_argument("--anonymous", action="store_true", help="use no credentials (public buckets)")
    parser.add_argument("--cache-dir", type=Path, help="where downloaded models are kept (default: user cache)")
    parser.add_argument("--no-cache", action="store_true", help="download to a temporary folder, keep nothing")


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tfscope")) / "models"


def run_devices(argv: Sequence[str]) -> int:
    """`tfscope devices`: what TensorFlow sees on this machine."""
    import json

    from tui.errors import TfscopeError
    from tui.runtime.host import RuntimeHost

    parser = argparse.ArgumentParser(prog="tfscope devices", description="List TensorFlow's devices.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    host = RuntimeHost()
    try:
        listing = host.devices()
    except TfscopeError as error:
        print(f"tfscope: {error.one_line()}", file=sys.stderr)
        return 1
    finally:
        host.stop()
    if args.json:
        print_output(json.dumps(listing.to_json(), indent=2))
        return 0
    lines = []
    for device in listing.physical:
        extra = ", ".join(f"{k} {v}" for k, v in (("model", device.model),
                          ("compute_capability", device.compute_capability)) if v)  # fmt: skip
        lines.append(f"physical  {device.type:<4} {device.name}" + (f"  ({extra})" if extra else ""))
    for device in listing.logical:
        lines.append(f"logical   {device.type:<4} {device.name}")
    tpu = listing.tpu
    lines.append(f"TPU       {tpu}" if tpu else "TPU       none found")
    print_output("\n".join(lines))
    return 0


def run_model(argv: Sequence[str]) -> int:
    """`tfscope run`: load, run, print per-output stats and timings."""
    import json

    from tui.errors import TfscopeError
    from tui.formats.inspect import inspect_model
    from tui.runtime.host import RuntimeHost
    from tui.runtime.protocol import RunRequest
    from tui.runtime.session import load_model
    from tui.storage import GcsStore, Stores, parse_location
    from tui.storage.cache import ModelCache
    from tui.storage.scratch import make_temp_dir, remove_temp_dir

    args = build_run_parser().parse_args(argv)
    host = RuntimeHost()
    cache = None
    inputs_dir = make_temp_dir("input")
    try:
        location = parse_location(args.location)
        stores = Stores(GcsStore(project=args.project, anonymous=args.anonymous))
        info = inspect_model(stores.for_location(location), location)
        location = parse_location(info.uri)
        cache = ModelCache.throwaway() if args.no_cache else ModelCache(args.cache_dir or default_cache_dir())
        loaded = load_model(stores, host, cache, location, info.kind, unsafe=args.unsafe, device=args.device,
                            needs=info.needs)  # fmt: skip
        for note in load_notes(loaded.skipped, loaded.repaired):
            print(f"tfscope: {note}", file=sys.stderr)
        names = [s.name for s in loaded.loaded.signatures]
        signature = args.signature or ("serving_default" if "serving_default" in names else (names or [""])[0])
        inputs = parse_inputs(args.input, args.shape, stores, inputs_dir)
        result = host.run(RunRequest(signature, inputs, args.device, args.repeat))
    except TfscopeError as error:
        print(f"tfscope: {error.one_line()}", file=sys.stderr)
        return 1
    finally:
        host.stop()
        remove_temp_dir(inputs_dir)
        if cache is not None:
            cache.close()
    print_output(json.dumps({**result.to_json(), "uri": location.uri}, indent=2) if args.json else format_run(result))
    return 0


def load_notes(skipped: Sequence[Skipped], repaired: bool) -> list[str]:
    """What a load did that the user should know: objects it left out, a damaged copy it replaced."""
    notes = []
    if skipped:
        listed = "; ".join(f"{s.name} ({s.reason})" for s in skipped[:5])
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        notes.append(f"{len(skipped)} object(s) of the model were not downloaded, their names cannot be local "
                     f"files: {listed}{more}.")  # fmt: skip
    if repaired:
        notes.append("the cached copy had changed on disk since it was downloaded: it was downloaded again.")
    return notes


def print_output(text: str) -> None:
    """Print a command's result; a reader that went away (`| head`) is fine, not a traceback."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def parse_inputs(values: list[str], shapes: list[str], stores: Stores, downloads: Path) -> dict[str, InputSource]:
    """`NAME=VALUE` flags as the runtime's input sources; JSON is parsed as data, never evaluated.

    A gs:// .npy/.npz is downloaded into `downloads` (a temporary folder the caller removes).
    """
    from dataclasses import replace

    from tui.errors import TfscopeError
    from tui.runtime.inputs import source_from_text
    from tui.runtime.protocol import InputSource

    inputs: dict[str, InputSource] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise TfscopeError(f"--input {item!r} has no '='.", "Write --input NAME=VALUE.", title="Bad input")
        source = source_from_text(value)
        if source.source == "npy" and source.path:
            source = replace(source, path=_local_copy(source.path, stores, downloads))
        inputs[name] = source
    for item in shapes:
        name, _, dims = item.partition("=")
        try:
            shape = [int(d) for d in dims.split(",") if d.strip()]
        except ValueError:
            shape = [-1]
        if not shape or any(d < 1 for d in shape):
            raise TfscopeError(f"--shape {item!r}: dims must be whole numbers of at least 1.",
                               "Write --shape NAME=1,224,224,3.", title="Bad input")  # fmt: skip
        inputs[name] = replace(inputs.get(name, InputSource()), shape=tuple(shape))
    return inputs


def _local_copy(path: str, stores: Stores, downloads: Path) -> str:
    """A gs:// .npy/.npz downloaded into `downloads`; a local path as it is."""
    if not path.startswith("gs://"):
        return path
    from tui.storage import parse_location
    from tui.storage.local_paths import safe_file_name

    location = parse_location(path)
    dest = downloads / safe_file_name(location.name, "input")
    stores.gcs.download(location, dest)
    return str(dest)


def non_negative(text: str) -> int:
    """An argparse type: a whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return value


def format_run(result: RunResult) -> str:
    """A run as text: where it ran, its timings, then each output's shape, dtype and values."""
    lines = [f"signature {result.signature} on {result.device}"]
    t = result.timings
    lines.append(
        f"  first call {t.first_ms:.1f} ms" + (f" (includes {t.first_call})" if t.first_call != "first call" else "")
    )
    if t.runs:
        lines.append(f"  {t.runs} warm runs: p50 {t.p50_ms:.2f} ms, p95 {t.p95_ms:.2f} ms, min {t.min_ms:.2f} ms")
    for name, stats in result.outputs.items():
        lines.append(f"output {name}: {stats.dtype} {tuple(stats.shape)}")
        if stats.mean is not None:
            lines.append(f"  min {stats.min:.4g}  max {stats.max:.4g}  mean {stats.mean:.4g}  std {stats.std:.4g}  "
                         f"NaN {stats.nan}  Inf {stats.inf}")  # fmt: skip
        lines.append(
            "  first values " + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in stats.preview)
        )
        if stats.top5:
            lines.append("  top-5 " + ", ".join(f"{c}: {score:.4f}" for c, score in stats.top5))
    for path in result.saved:
        lines.append(f"saved {path}")
    return "\n".join(lines)


HEADLESS = {"inspect": "run_inspect", "devices": "run_devices", "run": "run_model"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in HEADLESS:
        return run_headless(globals()[HEADLESS[argv[0]]], argv[1:])
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    if args.demo:
        from tui.demo import run_demo

        return leave(run_demo(settings))
    make_app(settings).run()
    return leave(0)


def run_headless(command: Callable[[Sequence[str]], int], argv: Sequence[str]) -> int:
    """A headless command, ended by ctrl+c, a closed terminal or `kill` with its cleanup done
    (temporary folders, the TensorFlow child) and one line, never a traceback."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        return command(argv)
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
