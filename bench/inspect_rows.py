"""Rows 1 and 3: what a model is, read without TensorFlow, against the tools that load TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from common import BIG_RUNS, PYTHON, ROOT, Row, faster, median, median_json, seconds, wall
from data import BENCH_BUCKET
from network import BenchNetwork

from tui.demo import DEMO_BUCKET
from tui.formatting import format_size

TFSCOPE = [PYTHON, "-m", "tui"]
SAVED_MODEL = "serving/mobilenet_v2/1/"


def saved_model_cli() -> str:
    return shutil.which("saved_model_cli", path=str(Path(PYTHON).parent)) or "saved_model_cli"


def signature_rows(data: Path, net: BenchNetwork, env: dict[str, str], skip_reason: str) -> list[Row]:
    """Row 1: time to the signatures of the MobileNetV2 SavedModel, local and in the bucket."""
    local = str(data / DEMO_BUCKET / SAVED_MODEL)
    uri = f"gs://{DEMO_BUCKET}/{SAVED_MODEL}"
    ours_local = median(lambda: wall([*TFSCOPE, "inspect", local], env))
    cli_local = median(lambda: wall([saved_model_cli(), "show", "--all", "--dir", local], env))
    assert not _imports_tensorflow(local, env), "tfscope inspect imported tensorflow"
    gcs_env = {**env, **net.tfscope_env}
    ours = median(lambda: wall([*TFSCOPE, "inspect", uri], gcs_env))
    rows = [
        Row("1. signatures of MobileNetV2 SavedModel, local folder", f"{seconds(ours_local)} tfscope inspect",
            f"{seconds(cli_local)} saved_model_cli show --all", faster(ours_local, cli_local)),
    ]  # fmt: skip
    if net.tf_env is None:
        return rows + [
            Row("1. same, gs://", f"{seconds(ours)} tfscope inspect", f"skipped: {skip_reason}", ""),
        ]
    tf_env = {**env, **net.tf_env}
    cli = median(lambda: wall([saved_model_cli(), "show", "--all", "--dir", uri], tf_env))
    loaded = median_json([PYTHON, "bench/plain.py", "gs", "saved_model", uri], tf_env)["signatures_s"]
    return rows + [
        Row("1. same, gs://", f"{seconds(ours)} tfscope inspect",
            f"{seconds(cli)} saved_model_cli show --all --dir gs://", faster(ours, cli)),
        Row("1. same, gs://", f"{seconds(ours)} tfscope inspect",
            f"{seconds(loaded)} tf.saved_model.load('gs://...').signatures", faster(ours, loaded)),
    ]  # fmt: skip


def layer_table_rows(net: BenchNetwork, env: dict[str, str]) -> list[Row]:
    """Row 3: bytes and requests to read the layer table of .h5 and .keras files, against their size; and
    how long until the model screen shows the layers (from the config) and their parameter counts."""
    gcs_env = {**env, **net.tfscope_env}
    rows = []
    files = [f"gs://{DEMO_BUCKET}/models/image/mobilenet_v2.{ext}" for ext in ("h5", "keras")]
    files += [f"gs://{BENCH_BUCKET}/resnet50.{ext}" for ext in ("h5", "keras")]
    for uri in files:
        report = median_json([PYTHON, "bench/layer_table.py", uri], gcs_env, BIG_RUNS)
        share = 100 * report["bytes_read"] / report["size"]
        read = (
            f"{format_size(int(report['bytes_read']))} in {int(report['requests'])} requests; layers shown "
            f"in {seconds(report['partial_s'])}, parameter counts in {seconds(report['full_s'])}"
        )
        whole = f"{format_size(int(report['size']))}: the whole file"
        name = uri.rsplit("/", 1)[-1]
        rows.append(Row(f"3. layer table of {name} (gs://)", read, whole, f"{share:.1f}% of the bytes"))
    return rows


def _imports_tensorflow(path: str, env: dict[str, str]) -> bool:
    code = (
        "import sys, io, contextlib; from tui.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main(['inspect', {path!r}])\n"
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return done.stdout.strip() == "True"
