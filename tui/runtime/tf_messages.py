"""TensorFlow's error messages cut down to what a user can act on (pure text: no TensorFlow here).

A graph error reads "Graph execution error:", a blank line, "Detected at node X defined at (most
recent call last):", a Python stack, and only then the cause ("indices[0] = 7 is not in [0, 4)"),
followed by `[[{{node X}}]] [Op:...]`. Keeping the first line, as a naive summary does, keeps nothing.
"""

from __future__ import annotations

import re

MAX_LINES = 4
_NOISE = (
    re.compile(r"^Graph execution error:?$"),
    re.compile(r"^Detected at node .* defined at \(most recent call last\):?$"),
    re.compile(r"^<stack traces unavailable>$"),
    re.compile(r"^Node: \S+$"),
    re.compile(r"^File \".*\", line \d+"),
    re.compile(r"^Traceback \(most recent call last\):?$"),
)
_NODE = re.compile(r"\[\[\{\{node ([^}]+)\}\}\]\]")
_DETECTED = re.compile(r"^(?:Detected at node|Node:) (\S+)")


def meaningful_lines(text: str) -> str:
    """The cause of a TensorFlow (or Keras) error in at most a few lines, with the node it failed at."""
    node = ""
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        detected = _DETECTED.match(line)
        if detected:
            node = node or detected.group(1).strip("'\"")
        if not line or raw.startswith(("  ", "\t  ")) and not line.startswith("[["):
            continue  # blank, or a frame of a Python stack (indented source lines)
        if any(p.match(line) for p in _NOISE):
            continue
        found = _NODE.search(line)
        if found:
            node = found.group(1)
            line = line[: found.start()].strip()
            if not line:
                continue
        line = re.sub(r"\s*\[Op:[^\]]*\]$", "", line)
        if line and line not in kept:
            kept.append(line)
    if not text.strip():
        return "unknown error"
    message = "\n".join(kept[:MAX_LINES]) or text.strip().splitlines()[0]
    return f"{message} (at node {node})" if node and node not in message else message
