"""Summaries of an output tensor: shape, dtype, range, moments, NaN/Inf counts, a preview, top-5, a histogram."""

from __future__ import annotations

from typing import Any

PREVIEW = 8
HISTOGRAM_BINS = 10


def output_stats(value: Any) -> dict[str, Any]:
    import numpy as np

    array = np.asarray(value)
    stats: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    flat = array.reshape(-1)
    if array.dtype.kind in "SUO":
        stats["preview"] = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in flat[:PREVIEW]]
        return stats
    if array.dtype.kind == "b":
        flat = flat.astype(np.int8)
    finite = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    stats["nan"] = int(np.isnan(flat).sum()) if flat.dtype.kind == "f" else 0
    stats["inf"] = int(np.isinf(flat).sum()) if flat.dtype.kind == "f" else 0
    if finite.size:
        as_float = finite.astype(np.float64)
        stats.update(min=float(as_float.min()), max=float(as_float.max()), mean=float(as_float.mean()),
                     std=float(as_float.std()))  # fmt: skip
        counts, edges = np.histogram(as_float, bins=HISTOGRAM_BINS)
        stats["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
    stats["preview"] = [float(v) for v in flat[:PREVIEW]]
    if array.ndim == 2 and array.shape[0] > 0 and array.shape[1] > 1 and array.dtype.kind == "f":
        row = array[0]
        top = np.argsort(row)[::-1][:5]
        stats["top5"] = [{"class": int(i), "score": float(row[i])} for i in top]
    return stats
