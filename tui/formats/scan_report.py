"""A scan as JSON (one document for scripts) and as text (an inventory, then what needs a look)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tui.formats.model_info import AT_LOAD
from tui.formats.report import finding_json, finding_lines
from tui.formats.scan import ScanReport, ScanResult
from tui.formatting import format_size, printable

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
"""Some model can read, write or list files, reach the network, write to a stream or run Python."""
EXIT_UNREADABLE = 2
"""No findings, but some model (or the listing) could not be read: it was not checked."""
EXIT_NO_MODELS = 3
EXIT_USAGE = 4
"""ModelScan's codes, so a pipeline can use either tool."""


def exit_code(report: ScanReport) -> int:
    """Findings first (the reason to scan), then unread models, then an empty prefix."""
    if report.with_findings:
        return EXIT_FINDINGS
    if report.unreadable:
        return EXIT_UNREADABLE
    return EXIT_CLEAN if report.results else EXIT_NO_MODELS


def versions_text(versions: dict[str, str]) -> str:
    """`TF 2.21.0, Keras 3.15.1`: the versions a model was saved with, short."""
    short = {"TensorFlow": "TF"}
    return ", ".join(f"{short.get(k, k)} {v}" for k, v in versions.items() if k in ("TensorFlow", "Keras"))


def summary(report: ScanReport) -> dict[str, Any]:
    findings = [f for r in report.with_findings for f in r.info.findings]  # type: ignore[union-attr]
    return {
        "models": len(report.results),
        "by_format": dict(Counter(r.found.kind.value for r in report.results)),
        "with_findings": len(report.with_findings),
        "findings": len(findings),
        "findings_at_load": sum(f.when == AT_LOAD for f in findings),
        "unreadable": len(report.unreadable),
        "objects": report.objects,
        "truncated": report.truncated,
    }


def scan_to_json(report: ScanReport, seconds: float) -> dict[str, Any]:
    """The documented JSON shape of `tfscope scan --json` (see README)."""
    return {
        "uri": report.location.uri,
        "models": [_model_json(r) for r in report.results],
        "summary": {**summary(report), "seconds": round(seconds, 3)},
        "exit_code": exit_code(report),
    }


def _model_json(result: ScanResult) -> dict[str, Any]:
    info, error = result.info, result.error
    return {
        "uri": result.found.location.uri,
        "format": result.found.kind.value,
        "format_label": result.found.kind.label,
        "size": result.found.size,
        "total_params": info.total_params if info else None,
        "versions": info.versions if info else {},
        "signatures": [s.name for s in info.signatures] if info else [],
        "findings": [finding_json(f) for f in info.findings] if info else [],
        "needs": [{"kind": n.kind, "detail": n.detail} for n in info.needs] if info else [],
        "error": None if error is None else {"title": error.title, "detail": error.detail, "fix": error.fix},
    }


def scan_to_text(report: ScanReport, seconds: float) -> str:
    """Every model a line (path under the scanned prefix), then each model's findings, then what failed."""
    root = report.location.uri
    rows = [("model", "format", "size", "params", "saved with", "signatures", "findings")]
    for r in report.results:
        info = r.info
        uri = r.found.location.uri
        rows.append((
            printable(uri[len(root):] if uri.startswith(root) and uri != root else uri),
            r.found.kind.label,
            format_size(r.found.size),
            f"{info.total_params:,}" if info else "-",
            versions_text(info.versions) if info else "-",
            _signatures_text(r),
            "unreadable" if r.error else f"{len(info.findings)} !" if info and info.findings else "-",
        ))  # fmt: skip
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(len(rows[0]))]
    lines = [f"tfscope scan {printable(root)}", ""]
    lines += ["  ".join(cell[:w].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in report.with_findings:
        lines += ["", f"findings in {printable(r.found.location.uri)}"]
        lines += ["  " + line for line in finding_lines(r.info.findings)]  # type: ignore[union-attr]
    if report.unreadable:
        lines += ["", "could not be read (not checked)"]
        lines += [f"  {printable(r.found.location.uri)}: {r.error.one_line()}" for r in report.unreadable]  # type: ignore[union-attr]
    lines += ["", summary_line(report, seconds)]
    return "\n".join(lines)


def _signatures_text(result: ScanResult) -> str:
    if result.info is None or not result.info.signatures:
        return "-"
    names = [s.name for s in result.info.signatures]
    return ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")


def summary_line(report: ScanReport, seconds: float) -> str:
    """`12 models (8 SavedModel, 4 Keras v3) in 340 objects, 1.2 s: 2 with findings, 1 could not be read`."""
    s = summary(report)
    formats = Counter(r.found.kind.label for r in report.results)
    kinds = ", ".join(f"{n} {label}" for label, n in formats.most_common())
    head = (
        f"{s['models']} model(s)" + (f" ({kinds})" if kinds else "") + f" in {s['objects']:,} objects, {seconds:.1f} s"
    )
    parts = [f"{s['with_findings']} with findings ({s['findings']}, {s['findings_at_load']} at load)"
             if s["with_findings"] else "no findings"]  # fmt: skip
    if s["unreadable"]:
        parts.append(f"{s['unreadable']} could not be read")
    if report.truncated:
        parts.append(f"the listing stopped after {s['objects']:,} objects: scan a narrower prefix")
    return head + ": " + "; ".join(parts)
