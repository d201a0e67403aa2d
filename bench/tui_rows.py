"""Rows 4 and 5: the browser on a prefix of 100,000 objects, and launching the TUI."""

from __future__ import annotations

import statistics
import time

from common import BIG_RUNS, PYTHON, RUNS, Row, faster, json_of, seconds
from list_server import BUCKET, PREFIX, ListingServer
from network import BenchNetwork
from proxy import LatencyProxy

from tui.demo import DEMO_BUCKET
from tui.storage.gcs import LISTING_FIELDS


def _runs(command: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    results = [json_of([*command[:2], repr(time.time()), *command[2:]], env) for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def listing_rows(env: dict[str, str], count: int, rtt: float, bandwidth: float, shared: bool) -> list[Row]:
    """Row 4: time to the first page shown and to the whole level, and peak memory, against a full listing."""
    server = ListingServer(count, fields=(LISTING_FIELDS,))
    server.start()
    proxy = LatencyProxy(server.port, rtt, bandwidth, shared=shared)
    proxy.start()
    try:
        listing_env = {**env, "STORAGE_EMULATOR_HOST": proxy.url}
        ours = _runs([PYTHON, "bench/tui_launch.py", f"gs://{BUCKET}/{PREFIX}"], listing_env, BIG_RUNS)
        theirs = _runs([PYTHON, "bench/plain_list.py", BUCKET, PREFIX], listing_env, BIG_RUNS)
    finally:
        proxy.stop()
        server.stop()
    assert ours["rows"] == count, f"the browser showed {ours['rows']} rows of {count}"
    what = f"{count:,} objects in one prefix"
    full = f"{seconds(theirs['all_s'])} list_blobs, all pages"
    return [
        Row(f"4. listing {what}: first page shown", seconds(ours["first_rows_s"]),
            f"{seconds(theirs['first_s'])} list_blobs, first name printed",
            faster(ours["first_rows_s"], theirs["first_s"])),
        Row(f"4. listing {what}: first page shown", seconds(ours["first_rows_s"]), full,
            faster(ours["first_rows_s"], theirs["all_s"])),
        Row(f"4. listing {what}: whole level shown", seconds(ours["listed_s"]), full,
            faster(ours["listed_s"], theirs["all_s"])),
        Row(f"4. listing {what}: peak memory", f"{ours['peak_mb']:.0f} MB (the TUI, all rows)",
            f"{theirs['peak_mb']:.0f} MB (list_blobs printing names)",
            f"{ours['peak_mb'] / theirs['peak_mb']:.1f}x the memory"),
    ]  # fmt: skip


def launch_rows(net: BenchNetwork, env: dict[str, str]) -> list[Row]:
    """Row 5: TUI launch to first paint and to the first page of the demo bucket (headless pilot)."""
    result = _runs([PYTHON, "bench/tui_launch.py", f"gs://{DEMO_BUCKET}/"], {**env, **net.tfscope_env}, RUNS)
    return [
        Row("5. TUI launch to first paint (headless pilot)", seconds(result["paint_s"]), "n/a: no TUI does this", ""),
        Row("5. TUI launch to the demo bucket's first page (gs://)", seconds(result["first_rows_s"]), "n/a", ""),
    ]
