"""The command line and what importing the app costs."""

from __future__ import annotations

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
