"""The command line and what importing the app costs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tui.cli import build_parser
from tui.demo import DEMO_BUCKET, ensure_demo_data
from tui.settings import Settings


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
    settings = Settings.from_args(args)
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
    assert (report["format"], report["format_label"]) == ("saved_model", "SavedModel") and report[
        "uri"
    ] == "gs://zoo/saved/multi/"
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


def test_help_names_the_commands_and_shared_options_are_defined_once() -> None:
    done = run_tfscope("--help")
    assert done.returncode == 0
    for command in ("tfscope inspect", "tfscope run", "tfscope devices"):
        assert command in done.stdout
    run_help = run_tfscope("run", "--help").stdout
    for option in ("--project", "--anonymous", "--cache-dir", "--no-cache", "--unsafe", "--signature"):
        assert option in run_help
    assert "--cache-dir" not in run_tfscope("inspect", "--help").stdout  # inspect downloads nothing


def test_inspect_of_no_bucket_says_what_to_give_and_no_error_says_press_r(emulator: object) -> None:
    done = run_tfscope("inspect", "gs://")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "IndexError" not in done.stderr and "gs://bucket/" in done.stderr
    for args in (["inspect", "gs://no-such-bucket/m.keras"], ["run", "gs://zoo/missing.keras"]):
        failed = run_tfscope(*args)
        assert failed.returncode == 1 and "Press r" not in failed.stderr and "press r" not in failed.stderr


# Each refused before TensorFlow starts: the code below counts runtimes started, and expects none.
PREFLIGHT = (
    "import sys, tui.runtime.host as host; started = []\n"
    "init = host.RuntimeHost.__init__\n"
    "def counted(self, *a, **k): started.append(1); init(self, *a, **k)\n"
    "host.RuntimeHost.__init__ = counted\n"
    "from tui.cli import main; rc = main(sys.argv[1:]); print('runtimes', len(started)); sys.exit(rc)"
)


def run_checked(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PREFLIGHT, "run", *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_run_refuses_what_the_metadata_rules_out_before_tensorflow_starts(zoo: Path, tmp_path: Path) -> None:
    multi, keras = str(zoo / "saved/multi"), str(zoo / "keras/functional.keras")
    cases = [
        ([multi, "--signature", "classify_ids", "--input", "image=random"],
         "Signature 'classify_ids' has no input 'image'", "token_ids"),
        ([multi, "--signature", "nope"], "no signature 'nope'", "classify_ids, classify_text"),
        ([multi, "--signature", "classify_ids", "--input", "token_ids=rando"], "'rando' is not a value", "random"),
        ([multi, "--signature", "classify_ids", "--input", f"token_ids={tmp_path / 'gone.npy'}"],
         "there is no file", "Check the path"),
        ([multi, "--signature", "classify_ids", "--shape", "token_ids=1,2,3"], "does not fit", "token_ids=1,1"),
        ([str(zoo / "ckpt/keras")], "nothing to run", "tfscope inspect"),
        ([keras, "--signature", "serving_default"], "no signature 'serving_default'", "call"),
        ([keras, "--input", "nope=ones"], "no input 'nope'", "features"),
    ]  # fmt: skip
    for args, problem, fix in cases:
        done = run_checked(*args, "--cache-dir", str(tmp_path / "cache"))
        assert done.returncode == 1, (args, done.stderr)
        assert problem in done.stderr and fix in done.stderr, (args, done.stderr)
        assert done.stdout.strip() == "runtimes 0", (args, done.stdout)


def test_a_second_demo_start_waits_for_the_first_build_and_uses_it(tmp_path: Path) -> None:
    import fcntl

    data = tmp_path / "demo"
    data.mkdir()
    in_progress = data / f".{DEMO_BUCKET}.tmp-999"  # the first start's build, half done
    in_progress.mkdir()
    lock = os.open(data / ".build.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held by the first start while it builds
    code = f"from pathlib import Path; from tui.demo import ensure_demo_data; ensure_demo_data(Path({str(data)!r}))"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as second:
        assert second.stdout is not None
        assert "waiting for it" in second.stdout.readline()
        assert in_progress.is_dir()  # not swept from under the first
        (in_progress / "model.h5").write_text("built")
        in_progress.rename(data / DEMO_BUCKET)  # the first finishes
        os.close(lock)
        rest = second.stdout.read()
    assert second.returncode == 0 and "Building" not in rest
    assert (data / DEMO_BUCKET / "model.h5").read_text() == "built"


def test_a_failed_demo_build_says_its_real_cause(tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise OSError(28, 'No space left on device')\n")
    code = (f"from pathlib import Path; from tui.demo import ensure_demo_data\n"
            f"from tui.errors import TfscopeError\n"
            f"try: ensure_demo_data(Path({str(tmp_path / 'demo')!r}))\n"
            f"except TfscopeError as e: print('ERROR', e.one_line())")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    error = done.stdout.split("ERROR ", 1)[1]
    assert "No space left on device" in error and "Check that TensorFlow is installed" not in error
    assert "demo-build.log" in error and "?" not in error.split("Fix:")[0]


def test_run_refuses_inputs_over_the_size_limit_before_tensorflow_starts(zoo: Path, tmp_path: Path) -> None:
    """An input is measured before it is made: declared shape x dtype, a .npy header, a .npz member's."""
    import numpy as np

    keras = str(zoo / "keras/functional.keras")  # features: float32 [batch, 16]
    npz = tmp_path / "bomb.npz"
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as bomb:  # 2 GiB of zeros as a few MB of zip
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (2**27, 16)})  # fmt: skip
        with bomb.open("features.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            for _ in range(2048):
                member.write(bytes(1024 * 1024))
    deep = "[" * 50_000 + "]" * 50_000  # one argument holds at most 128 KiB
    cases = [
        (["--shape", "features=100000000,16"], "would take 6.4 GB, more than the 1.0 GB limit", "--max-input-mb"),
        (["--shape", "features=100000,16", "--max-input-mb", "1"], "more than the 1.0 MB limit", "--max-input-mb"),
        (["--input", f"features={npz}"], "holds a (134217728, 16) float32 array of 8.6 GB", "--max-input-mb"),
        (["--input", f"features={deep}"], "nests too deeply", ".npy"),
        (["--input", "features=[[1, 2], [3]]"], "not a rectangular array", "Fix that input"),
    ]  # fmt: skip
    for args, problem, fix in cases:
        done = run_checked(keras, *args, "--cache-dir", str(tmp_path / "cache"))
        assert done.returncode == 1, (args, done.stderr)
        assert problem in done.stderr and fix in done.stderr, (args, done.stderr)
        assert done.stdout.strip() == "runtimes 0", (args, done.stdout)
