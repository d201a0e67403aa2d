"""Rows 2 and 6: loading for real, cold and warm, against TensorFlow's gs:// and a download first;
then warm inference as `tfscope run` reports it against the same call timed in plain TensorFlow."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import NamedTuple

from common import BIG_RUNS, PYTHON, RUNS, Row, faster, json_of, seconds
from data import BENCH_BUCKET
from network import BenchNetwork

from tui.demo import DEMO_BUCKET
from tui.formats.kinds import ArtifactKind


class Model(NamedTuple):
    label: str
    path: str  # in its bucket
    bucket: str
    kind: ArtifactKind
    plain_kind: str  # bench/plain.py's KIND
    runs: int


MODELS = (
    Model("MobileNetV2 SavedModel (30 MB)", "serving/mobilenet_v2/1/", DEMO_BUCKET, ArtifactKind.SAVED_MODEL,
          "saved_model", RUNS),
    Model("ResNet50 .keras (103 MB)", "resnet50.keras", BENCH_BUCKET, ArtifactKind.KERAS, "keras", BIG_RUNS),
    Model("ResNet50 .h5 (103 MB)", "resnet50.h5", BENCH_BUCKET, ArtifactKind.HDF5, "keras", BIG_RUNS),
)  # fmt: skip
H5_FROM_GCS = "Keras 3 cannot: load_model('gs://...h5') raises FileNotFoundError (it copies only .keras zips)"
REPEAT_QUICK, REPEAT = 20, 100


def load_rows(data: Path, net: BenchNetwork, env: dict[str, str], quick: bool, skip_reason: str) -> list[Row]:
    rows: list[Row] = []
    for model in MODELS:
        uri = f"gs://{model.bucket}/{model.path}"
        ours = _tfscope_loads(model, net, env, with_inference=model.kind is ArtifactKind.SAVED_MODEL, quick=quick)
        cold, warm = statistics.median(ours["cold"]), statistics.median(ours["warm"])
        cold_requests = int(ours["requests"][-1])
        label = f"2. cold load, {model.label}"
        theirs: list[tuple[str, float | None]] = []
        if net.tf_env is None:
            rows.append(Row(label, seconds(cold), f"TensorFlow's gs://: skipped: {skip_reason}", ""))
        elif model.kind is ArtifactKind.HDF5:
            rows.append(Row(label, seconds(cold), H5_FROM_GCS, ""))
        else:
            before = net.proxy.requests
            direct = _plain_median("gs", model, uri, {**env, **net.tf_env})
            requests = (net.proxy.requests - before) // model.runs
            how = "tf.saved_model.load" if model.kind is ArtifactKind.SAVED_MODEL else "keras.saving.load_model"
            theirs.append((f"{how}('gs://...'), {requests} requests", direct))
        downloaded = _plain_median("download", model, uri, {**env, **net.tfscope_env})
        theirs.append(("blob.download_to_filename file by file, then load", downloaded))
        for how, took in theirs:
            assert took is not None
            rows.append(Row(label, f"{seconds(cold)}, {cold_requests} requests", f"{seconds(took)} {how}",
                            faster(cold, took)))  # fmt: skip
        repeat = (REPEAT_QUICK if quick else REPEAT) if ours["p50"] else 0
        plain = _plain_runs("local", model, str(data / model.bucket / model.path), env, repeat)
        local = statistics.median(r["load_s"] for r in plain)
        rows.append(Row(f"2. warm load (cache hit), {model.label}", seconds(warm),
                        f"{seconds(local)} load of a local copy", faster(warm, local)))  # fmt: skip
        if model.kind is ArtifactKind.SAVED_MODEL:
            rows += _tui_rows(model, net, env, local)
        if repeat:
            p50, plain_p50 = statistics.median(ours["p50"]), statistics.median(r["p50_ms"] for r in plain)
            rows.append(Row(f"6. warm inference p50, {model.label} ({repeat} runs, batch 1)",
                            f"{p50:.2f} ms tfscope run", f"{plain_p50:.2f} ms the same signature in plain TF",
                            f"{100 * (p50 / plain_p50 - 1):+.1f}%"))  # fmt: skip
    return rows


def _tfscope_loads(model: Model, net: BenchNetwork, env: dict[str, str], with_inference: bool,
                   quick: bool) -> dict[str, list[float]]:  # fmt: skip
    """Cold (empty cache, fresh runtime: TF's import included) then warm (cache hit, fresh runtime), each in
    a fresh process timed from its start, like the usual ways."""
    uri = f"gs://{model.bucket}/{model.path}"
    repeat = str(REPEAT_QUICK if quick else REPEAT) if with_inference else "0"
    result: dict[str, list[float]] = {"cold": [], "warm": [], "p50": [], "requests": []}
    for _ in range(model.runs):
        cache = tempfile.mkdtemp(prefix="tfscope-bench-cache-")
        try:
            for phase in ("cold", "warm"):
                before = net.proxy.requests
                command = [PYTHON, "bench/tfscope_load.py", uri, model.kind.value, cache]
                done = json_of([*command, repeat if phase == "warm" else "0"], {**env, **net.tfscope_env})
                result[phase].append(done["load_s"])
                if phase == "cold":
                    result["requests"].append(net.proxy.requests - before)
                if "p50_ms" in done:
                    result["p50"].append(done["p50_ms"])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return result


def _tui_rows(model: Model, net: BenchNetwork, env: dict[str, str], local: float) -> list[Row]:
    """In the TUI: `l` to loaded on a screen open for 3 s (TensorFlow started meanwhile), cold and warm cache."""
    uri = f"gs://{model.bucket}/{model.path}"
    took: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(model.runs):
        cache = tempfile.mkdtemp(prefix="tfscope-bench-cache-")
        try:
            for phase in ("cold", "warm"):
                done = json_of([PYTHON, "bench/tui_load.py", uri, cache, "3"], {**env, **net.tfscope_env})
                took[phase].append(done["load_s"])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    rows = []
    for phase, cache_state in (("warm", "warm cache"), ("cold", "cold cache")):
        ours = statistics.median(took[phase])
        rows.append(Row(f"2. in the TUI, l to loaded ({cache_state}, the model screen open 3 s first), "
                        f"{model.label}", seconds(ours), f"{seconds(local)} load of a local copy in a fresh Python",
                        faster(ours, local)))  # fmt: skip
    return rows


def _plain_runs(way: str, model: Model, source: str, env: dict[str, str], repeat: int = 0) -> list[dict[str, float]]:
    command = [PYTHON, "bench/plain.py", way, model.plain_kind, source, str(repeat)]
    return [json_of(command, env) for _ in range(model.runs)]


def _plain_median(way: str, model: Model, source: str, env: dict[str, str]) -> float:
    return statistics.median(r["load_s"] for r in _plain_runs(way, model, source, env))
