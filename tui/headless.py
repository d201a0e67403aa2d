"""The headless commands: `tfscope inspect`, `run` and `devices`. Each prints its result on stdout, or
one line on stderr and exit code 1: the error, and a fix that can be done from a shell."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui.errors import FileTooLargeError, TfscopeError
from tui.settings import Settings

if TYPE_CHECKING:
    from tui.formats.model_info import ModelInfo
    from tui.runtime.protocol import InputSource, RunResult
    from tui.runtime.side_by_side import SideBySide
    from tui.storage import Location, Store, Stores
    from tui.storage.local_paths import Skipped


def inspect(args: argparse.Namespace) -> int:
    """`tfscope inspect`: one model, printed."""
    from tui.formats.inspect import inspect_model
    from tui.formats.report import to_json, to_text
    from tui.launch import open_stores
    from tui.storage import parse_location

    try:
        location = parse_location(args.location)
        info = inspect_model(open_stores(Settings.from_args(args)).for_location(location), location)
    except TfscopeError as error:
        return fail(error)
    print_output(json.dumps(to_json(info), indent=2) if args.json else to_text(info))
    return 0


def _is_object(store: Store, location: Location) -> bool:
    """True when `location` names one file or object (a model to compare with another, not a folder)."""
    try:
        store.stat(location)
    except TfscopeError:
        return False
    return True


def diff(args: argparse.Namespace) -> int:
    """`tfscope diff A B`: what changed between two models; 0 the same, 1 different, 2 one is unreadable.
    With --run, 0 and 1 say whether their outputs agree."""
    from tui.formats.diff import diff_models, diff_to_json, diff_to_text, read_pair
    from tui.formats.serving_layout import serving_versions
    from tui.launch import open_stores
    from tui.storage import parse_location

    try:
        stores = open_stores(Settings.from_args(args))
        locations = [parse_location(args.location)]
        if args.other is not None:
            locations.append(parse_location(args.other))
        else:  # a folder of numbered versions: its two newest
            store = stores.for_location(locations[0])
            one_model = not locations[0].is_dir and _is_object(store, locations[0])
            locations = [] if one_model else serving_versions(store, locations[0].as_dir())[-2:]
            if len(locations) < 2:
                what = "is one file" if one_model else "holds no two numbered version folders with a SavedModel"
                print(f"tfscope: {args.location} {what}: give two models to compare.", file=sys.stderr)
                return 4
        a, b = read_pair(stores, locations[0], locations[1])
        side = _diff_run(args, stores, (a, b)) if args.run else None
    except TfscopeError as error:
        fail(error)
        return 2
    result = diff_models(a, b)
    if args.json:
        print_output(json.dumps({**diff_to_json(result), **({"run": side.to_json()} if side else {})}, indent=2))
    elif side is not None:
        from tui.runtime.side_by_side import side_by_side_text

        print_output(diff_to_text(result) + "\n\n" + "\n".join(side_by_side_text(side)))
    else:
        print_output(diff_to_text(result))
    if side is not None:  # --run asks about the answers: do they agree?
        return 0 if side.agree else 1
    return 0 if result.same else 1


def _diff_run(args: argparse.Namespace, stores: Stores, infos: tuple[ModelInfo, ModelInfo]) -> SideBySide:
    """`diff --run`: both models past the findings gate, loaded in turn and fed the same inputs."""
    from dataclasses import replace

    from tui.launch import open_cache
    from tui.runtime.host import RuntimeHost
    from tui.runtime.media import with_media_settings
    from tui.runtime.preflight import check_findings, check_run, runnable_inputs
    from tui.runtime.side_by_side import run_side_by_side
    from tui.storage.scratch import make_temp_dir, remove_temp_dir

    settings = Settings.from_args(args)
    for info in infos:
        check_findings(info, args.allow_findings)
    limit = args.max_input_mb * 1_000_000
    folder = make_temp_dir("diff-run")
    host, cache = None, None
    try:
        inputs = parse_inputs(args.input, args.shape)
        valued = {item.partition("=")[0] for item in args.input}
        inputs = {n: s if n in valued else replace(s, source="random") for n, s in inputs.items()}  # --shape alone
        signature = check_run(infos[0], args.signature, inputs, limit)  # before TensorFlow's seconds, not after
        inputs = {name: fetched(name, source, stores, folder, limit) for name, source in inputs.items()}
        known = runnable_inputs(infos[0], signature)
        inputs, notes = with_media_settings(infos[0].card, inputs, args.normalize, known)
        for note in notes:
            print(f"tfscope: {note}.", file=sys.stderr)
        cache = open_cache(settings)
        host = RuntimeHost()
        return run_side_by_side(stores, host, cache, infos, signature=args.signature, inputs=inputs, seed=args.seed,
                                folder=folder, max_bytes=limit, tolerance=args.tolerance, unsafe=args.unsafe,
                                device=args.device)  # fmt: skip
    finally:
        if host is not None:
            host.stop()
        if cache is not None:
            cache.close()
        remove_temp_dir(folder)


def scan(args: argparse.Namespace) -> int:
    """`tfscope scan`: every model under a prefix, with its findings; ModelScan's exit codes."""
    import time

    from tui.formats.scan import scan as scan_models
    from tui.formats.scan_report import EXIT_UNREADABLE, EXIT_USAGE, exit_code, scan_to_json, scan_to_text
    from tui.launch import open_stores
    from tui.storage import parse_location

    started = time.monotonic()
    progress = ScanProgress() if sys.stderr.isatty() else None
    try:
        location = parse_location(args.location)
    except TfscopeError as error:
        fail(error)
        return EXIT_USAGE
    try:
        store = open_stores(Settings.from_args(args)).for_location(location)
        report = scan_models(store, location, jobs=args.jobs, on_listed=progress.listed if progress else None,
                             on_result=progress.read if progress else None)  # fmt: skip
    except TfscopeError as error:
        fail(error)
        return EXIT_UNREADABLE
    finally:
        if progress is not None:
            progress.clear()
    seconds = time.monotonic() - started
    print_output(json.dumps(scan_to_json(report, seconds), indent=2) if args.json else scan_to_text(report, seconds))
    return exit_code(report)


class ScanProgress:
    """`found 512 models; read 130` on one line of stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._drawn = 0.0
        self._total = 0

    def listed(self, found: Sequence[object]) -> None:
        self._total = len(found)
        self._draw(f"found {self._total} model(s); reading them...")

    def read(self, result: object, done: int, total: int) -> None:
        if done == total or self._clock() - self._drawn > 0.1:
            self._draw(f"found {total} model(s); read {done}")

    def _draw(self, text: str) -> None:
        self._drawn = self._clock()
        sys.stderr.write(f"\r\x1b[K{text}")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def fail(error: TfscopeError) -> int:
    """One line on stderr; exit code 1."""
    print(f"tfscope: {error.one_line()}", file=sys.stderr)
    return 1


def devices(args: argparse.Namespace) -> int:
    """`tfscope devices`: what TensorFlow sees on this machine."""
    from tui.runtime.host import RuntimeHost

    host = RuntimeHost()
    try:
        listing = host.devices()
    except TfscopeError as error:
        return fail(error)
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


def run(args: argparse.Namespace) -> int:
    """`tfscope run`: check the request against the metadata, load, run, print per-output stats and timings."""
    from tui.formats.card_report import output_labels
    from tui.formats.inspect import inspect_model
    from tui.formats.labels import read_label_asset, read_label_file
    from tui.launch import open_cache, open_stores
    from tui.runtime.host import RuntimeHost
    from tui.runtime.media import with_media_settings
    from tui.runtime.preflight import check_findings, check_run, runnable_inputs
    from tui.runtime.protocol import RunRequest
    from tui.runtime.session import load_model
    from tui.storage import parse_location
    from tui.storage.scratch import make_temp_dir, remove_temp_dir

    settings = Settings.from_args(args)
    host = None
    cache = None
    inputs_dir = make_temp_dir("input")
    try:
        location = parse_location(args.location)
        stores = open_stores(settings)
        info = inspect_model(stores.for_location(location), location)
        inputs = parse_inputs(args.input, args.shape)
        check_findings(info, args.allow_findings)
        limit = args.max_input_mb * 1_000_000
        signature = check_run(info, args.signature, inputs, limit)  # before TensorFlow's 2.5 s, not after
        inputs = {name: fetched(name, source, stores, inputs_dir, limit) for name, source in inputs.items()}
        inputs, notes = with_media_settings(info.card, inputs, args.normalize, runnable_inputs(info, signature))
        for note in notes:
            print(f"tfscope: {note}.", file=sys.stderr)
        given_labels = None
        if args.labels:  # a bad path is a message before TensorFlow starts
            labels_at = parse_location(args.labels)
            given_labels = read_label_file(stores.for_location(labels_at), labels_at)
        location = info.location  # a folder named without its slash resolves to the folder
        cache = open_cache(settings)
        host = RuntimeHost()
        loaded = load_model(stores, host, cache, location, info.kind, unsafe=args.unsafe, device=args.device,
                            needs=info.needs)  # fmt: skip
        for note in load_notes(loaded.skipped, loaded.repaired):
            print(f"tfscope: {note}", file=sys.stderr)
        if given_labels is None:  # a SavedModel's assets/labels.txt, if it has one; unreadable: numbers only
            with contextlib.suppress(TfscopeError):
                given_labels = read_label_asset(stores.for_location(location), info) or None
        result = host.run(RunRequest(signature, inputs, args.device, args.repeat, max_input_bytes=limit))
        labels = output_labels(info.card, list(result.outputs))
        if given_labels is not None:  # --labels names the classes of every [batch, classes] output
            labels = {name: given_labels for name, stats in result.outputs.items() if stats.top5}
    except TfscopeError as error:
        return fail(error)
    finally:
        if host is not None:
            host.stop()
        remove_temp_dir(inputs_dir)
        if cache is not None:
            cache.close()
    if args.json:
        report = {**result.to_json(), "uri": location.uri}
        for name, names in labels.items():  # each top-5 class's label, beside its class and score
            for entry in report["outputs"][name].get("top5", []):
                entry["label"] = names[entry["class"]] if 0 <= entry["class"] < len(names) else None
        print_output(json.dumps(report, indent=2))
    else:
        print_output(format_run(result, labels))
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


def parse_inputs(values: list[str], shapes: list[str]) -> dict[str, InputSource]:
    """`NAME=VALUE` and `NAME=D,D` flags as the runtime's input sources; JSON is parsed as data, never
    evaluated."""
    from dataclasses import replace

    from tui.runtime.inputs import source_from_text
    from tui.runtime.protocol import InputSource

    inputs: dict[str, InputSource] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TfscopeError(f"--input {item!r} has no NAME=.", "Write --input NAME=VALUE.", title="Bad input")
        inputs[name] = source_from_text(value)
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


def fetched(name: str, source: InputSource, stores: Stores, downloads: Path, max_bytes: int) -> InputSource:
    """A gs:// .npy/.npz, picture or clip input downloaded into `downloads` (a folder the caller removes),
    refused over `max_bytes` before a byte is written (and never more than its listed size), then its
    headers checked as a local file's are, before TensorFlow starts."""
    from tui.runtime.inputs import FILE_SOURCES

    if source.source not in FILE_SOURCES or not source.path or not source.path.startswith("gs://"):
        return source
    from dataclasses import replace

    from tui.runtime.input_checks import InputError
    from tui.runtime.preflight import measure_file
    from tui.storage import parse_location
    from tui.storage.local_paths import safe_file_name

    location = parse_location(source.path)
    dest = downloads / safe_file_name(location.name, "input")
    try:
        stores.gcs.download(location, dest, max_bytes=max_bytes)
    except FileTooLargeError as error:
        raise TfscopeError(f"input '{name}': {error.detail}", "Give a smaller file, or raise the limit "
                           "with --max-input-mb.", title="Bad input") from error  # fmt: skip
    try:
        measure_file(name, source, str(dest), max_bytes)
    except InputError as error:  # named by its gs:// location, not the temporary copy's path
        raise TfscopeError(str(error).replace(str(dest), source.path) + ".", "Fix that input.",
                           title="Bad input") from error  # fmt: skip
    return replace(source, path=str(dest))


def format_run(result: RunResult, labels: dict[str, tuple[str, ...]] | None = None) -> str:
    """A run as text: where it ran, its timings, then each output's shape, dtype and values (top-5 classes
    named by `labels`, per output)."""
    from tui.formats.card_report import top5_text

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
            lines.append("  top-5 " + top5_text(stats.top5, (labels or {}).get(name, ())))
    for path in result.saved:
        lines.append(f"saved {path}")
    return "\n".join(lines)
