"""The command line and what importing the app costs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tui.cli import build_parser, settings_from_args
from tui.demo import DEMO_BUCKET, ensure_demo_data


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_importing_the_app_imports_neither_tensorflow_nor_the_gcs_client() -> None:
    done = run_python(
        "import sys, tui.app, tui.cli; "
        "heavy = [m for m in ('tensorflow', 'keras', 'google.cloud.storage') if m in sys.modules]; "
        "print(heavy)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_python_dash_m_and_version() -> None:
    done = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("tfscope ")


def test_flags_reach_the_settings() -> None:
    args = build_parser().parse_args(["gs://bucket/models/", "--project", "p1", "--anonymous"])
    settings = settings_from_args(args)
    assert (settings.start, settings.project, settings.anonymous) == ("gs://bucket/models/", "p1", True)


def test_demo_data_is_built_once_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    (data / DEMO_BUCKET).mkdir(parents=True)
    (data / DEMO_BUCKET / "kept.txt").write_text("from an earlier run")
    (data / f".{DEMO_BUCKET}.tmp-123").mkdir()  # an interrupted build
    assert ensure_demo_data(data) == data
    assert (data / DEMO_BUCKET / "kept.txt").exists()
    assert not (data / f".{DEMO_BUCKET}.tmp-123").exists()


def run_tfscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120)


def test_inspect_json_over_gcs_without_importing_tensorflow(emulator: object, zoo: Path) -> None:
    code = (
        "import json, sys, io, contextlib; from tui.cli import main; out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out): rc = main(['inspect', 'gs://zoo/saved/multi/', '--json'])\n"
        "print(json.dumps({'rc': rc, 'tf': 'tensorflow' in sys.modules, 'report': json.loads(out.getvalue())}))"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rc"] == 0 and result["tf"] is False
    report = result["report"]
    assert report["format"] == "SavedModel" and report["uri"] == "gs://zoo/saved/multi/"
    by_name = {s["name"]: s for s in report["signatures"]}
    assert by_name["classify_ids"]["inputs"] == [{"name": "token_ids", "dtype": "int64", "shape": [None, None]}]
    assert by_name["serving_default"]["method"] == "tensorflow/serving/predict"
    assert report["total_params"] == 64 * 8 + 8 * 3
    assert {v["name"]: v["shape"] for v in report["variables"]} == {"embedding": [64, 8], "dense": [8, 3]}
    assert report["ops"]["StatefulPartitionedCall"] > 0 and report["layers"] == []
    assert report["bytes_read"] > 0 and report["requests"] > 0


def test_inspect_text(zoo: Path) -> None:
    done = run_tfscope("inspect", str(zoo / "keras/functional.h5"))
    assert done.returncode == 0, done.stderr
    assert "Keras HDF5" in done.stdout and "branch_a" in done.stdout and "params" in done.stdout


def test_inspect_failure_is_one_line_and_nonzero(tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    done = run_tfscope("inspect", str(tmp_path / "model.keras"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("tfscope: Corrupt or unreadable file")
    missing = run_tfscope("inspect", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
