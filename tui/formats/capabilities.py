"""What a SavedModel's graph can do to the machine it runs on, and when: read from its bytes, never run.

The ops that read, write, list or map files, reach the network, write to a stream or run Python come
from `op_capabilities.json`, generated from TensorFlow's op registry by tests/make_op_capabilities.py
and reviewed by hand. Each use of one in the graph or its function library is a Finding, placed:

- "at load": reachable from what loading runs (the init op, the saver's restore, a resource's
  `_create_resource` / `_initialize`, a saveable's restore function);
- "when called: NAME": reachable from a signature (or another function the object graph exposes);
- "not reachable": in the library, called by nothing tfscope can see.

Reachability follows data and control inputs in the graph and every function an attribute names
(calls, control flow branches and loop bodies, dataset map/filter functions), so a ReadFile inside
a While body inside a dataset's map function is found. Targets are shown where the graph holds them
as constants (a Const, an Identity of one, a StringJoin of them).
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.formats.limits import Budget
from tui.formats.model_info import AT_LOAD, NOT_REACHABLE, WHEN_CALLED, Finding

TABLE_PATH = Path(__file__).with_name("op_capabilities.json")
INIT_OP_SIGNATURE = "__saved_model_init_op"
"""A signature TF adds for what loading runs (table initialisers): hidden from the signatures list."""
LOAD_TIME_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer", "saved_model_assets")
"""TF1 collections whose ops run when the model is loaded."""
LOAD_TIME_FUNCTIONS = ("_create_resource", "_initialize")
"""A restored resource (a lookup table) runs these two of its functions while loading."""
MAX_TARGET_DEPTH = 8


@dataclass(frozen=True)
class OpCapability:
    """One row of the table: what an op can do, and which input or attribute names its target."""

    capability: str
    target_input: int | None = None
    """Position of the input that names the file, pattern or address."""
    target_attr: str | None = None
    note: str = ""


@dataclass(frozen=True)
class OpTable:
    ops: dict[str, OpCapability]
    saver_ops: frozenset[str]
    """Ops the standard saver functions use: findings only outside them."""


@functools.cache
def op_table() -> OpTable:
    raw = json.loads(TABLE_PATH.read_text())
    ops = {}
    for name, row in raw["ops"].items():
        target = row.get("target") or {}
        ops[name] = OpCapability(row["capability"], target.get("input_index"), target.get("attr"), row.get("note", ""))
    return OpTable(ops, frozenset(raw.get("saver_ops", ())))


def graph_findings(meta_graph: Any, budget: Budget) -> list[Finding]:
    """Every use of a capability op in `meta_graph`, with when it runs and its target where constant."""
    table = op_table()
    graph = _Graph(meta_graph, budget)
    saver = graph.reach(_saver_roots(meta_graph))
    at_load = graph.reach(_load_roots(meta_graph), functions=_load_functions(meta_graph))
    called: dict[str, _Reach] = {}
    for name, signature in sorted(meta_graph.signature_def.items()):
        if name != INIT_OP_SIGNATURE:
            called[name] = graph.reach(_input_node(t.name) for t in signature.outputs.values())
    findings = []
    for scope, node in graph.all_nodes():
        capability = table.ops.get(node.op)
        if capability is None:
            continue
        where = f"{scope}/{node.name}" if scope else node.name
        if node.op in table.saver_ops and saver.holds(scope, node.name):
            continue  # the standard saver's own file ops: every SavedModel has them
        budget.spend(1, on="capability ops")
        when = NOT_REACHABLE
        if at_load.holds(scope, node.name):
            when = AT_LOAD
        else:
            callers = [name for name, reach in called.items() if reach.holds(scope, node.name)]
            if callers:
                when = WHEN_CALLED + ", ".join(callers)
        kind, target = _target(graph, scope, node, capability)
        findings.append(Finding(node.op, kind, target, when, where))
    findings.sort(key=lambda f: (f.when != AT_LOAD, f.when == NOT_REACHABLE, f.capability, f.name, f.where))
    return findings


class _Reach:
    """Nodes of the top-level graph and whole functions that a set of roots reaches."""

    def __init__(self, nodes: set[str], functions: set[str]) -> None:
        self.nodes = nodes
        self.functions = functions

    def holds(self, scope: str | None, name: str) -> bool:
        return scope in self.functions if scope is not None else name in self.nodes


class _Graph:
    def __init__(self, meta_graph: Any, budget: Budget) -> None:
        self.budget = budget
        self.nodes = {node.name: node for node in meta_graph.graph_def.node}
        self.functions = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        self._function_nodes: dict[str, dict[str, Any]] = {}

    def all_nodes(self) -> Iterator[tuple[str | None, Any]]:
        for node in self.nodes.values():
            yield None, node
        for name, function in self.functions.items():
            for node in function.node_def:
                yield name, node

    def nodes_of(self, scope: str | None) -> dict[str, Any]:
        if scope is None:
            return self.nodes
        if scope not in self._function_nodes:
            self._function_nodes[scope] = {n.name: n for n in self.functions[scope].node_def}
        return self._function_nodes[scope]

    def reach(self, roots: Iterable[str], functions: Iterable[str] = ()) -> _Reach:
        """The top-level nodes `roots` depend on (data and control inputs), and every function called
        from them or from `functions`, transitively."""
        seen: set[str] = set()
        todo = deque(r for r in roots if r in self.nodes)
        called: set[str] = set()
        pending = deque(f for f in functions if f in self.functions)
        while todo:
            name = todo.popleft()
            if name in seen:
                continue
            seen.add(name)
            node = self.nodes[name]
            self.budget.spend(1, on="graph edges")
            todo.extend(_input_node(i) for i in node.input if _input_node(i) in self.nodes)
            pending.extend(_called_functions(node))
            if node.op in self.functions:  # TF1 calls a library function by using its name as the op
                pending.append(node.op)
        while pending:
            name = pending.popleft()
            if name in called or name not in self.functions:
                continue
            called.add(name)
            for node in self.functions[name].node_def:
                self.budget.spend(1, on="graph edges")
                pending.extend(_called_functions(node))
                if node.op in self.functions:
                    pending.append(node.op)
        return _Reach(seen, called)


def _called_functions(node: Any) -> Iterator[str]:
    """Functions a node's attributes name: PartitionedCall's f, If/While branches, dataset functions."""
    for value in node.attr.values():
        if value.HasField("func") and value.func.name:
            yield value.func.name
        if value.HasField("list"):
            yield from (f.name for f in value.list.func if f.name)


def _input_node(name: str) -> str:
    """The producing node of an input: `^ctrl`, `node:1` and a function's `node:output:0` -> `node`."""
    return name.lstrip("^").split(":", 1)[0]


def _saver_roots(meta_graph: Any) -> list[str]:
    saver = meta_graph.saver_def
    return [_input_node(n) for n in (saver.save_tensor_name, saver.restore_op_name) if n]


def _load_roots(meta_graph: Any) -> list[str]:
    roots = [_input_node(t.name) for t in meta_graph.signature_def[INIT_OP_SIGNATURE].outputs.values()] \
        if INIT_OP_SIGNATURE in meta_graph.signature_def else []  # fmt: skip
    if meta_graph.saver_def.restore_op_name:
        roots.append(_input_node(meta_graph.saver_def.restore_op_name))
    for key in LOAD_TIME_COLLECTIONS:
        if key in meta_graph.collection_def:
            collection = meta_graph.collection_def[key]
            roots.extend(_input_node(n) for n in collection.node_list.value)
    return roots


def _load_functions(meta_graph: Any) -> list[str]:
    """Functions TF2 loading calls directly: resources' creators and initialisers, saveables' restores."""
    graph = meta_graph.object_graph_def
    names: list[str] = []
    for node in graph.nodes:
        if node.WhichOneof("kind") == "resource":
            for child in node.children:
                if child.local_name in LOAD_TIME_FUNCTIONS and 0 <= child.node_id < len(graph.nodes):
                    names.extend(_functions_of(graph.nodes[child.node_id]))
        for saveable in node.saveable_objects.values():
            if 0 <= saveable.restore_function < len(graph.nodes):
                names.extend(_functions_of(graph.nodes[saveable.restore_function]))
    return names


def _functions_of(saved_object: Any) -> list[str]:
    kind = saved_object.WhichOneof("kind")
    if kind == "function":
        return list(saved_object.function.concrete_functions)
    if kind == "bare_concrete_function":
        return [saved_object.bare_concrete_function.concrete_function_name]
    return []


def _target(graph: _Graph, scope: str | None, node: Any, capability: OpCapability) -> tuple[str, str | None]:
    """The capability as used here, and the target where the graph holds it as a constant."""
    target: str | None = None
    if capability.target_attr is not None and capability.target_attr in node.attr:
        value = node.attr[capability.target_attr]
        texts = list(value.list.s) if value.HasField("list") else [value.s]
        target = ", ".join(t.decode("utf-8", "replace") for t in texts if t) or None
    elif capability.target_input is not None:
        inputs = [i for i in node.input if not i.startswith("^")]
        if capability.target_input < len(inputs):
            target = _constant(graph, scope, _input_node(inputs[capability.target_input]), 0)
    kind = capability.capability
    if target is not None and kind in {"stream", "network"} and "file://" in target:
        kind = "file_write"  # PrintV2 to file://..., a debug URL that writes dumps to disk
    return kind, target


def _constant(graph: _Graph, scope: str | None, name: str, depth: int) -> str | None:
    """The string a node always produces, where it is a constant or built from constants."""
    node = graph.nodes_of(scope).get(name)
    if node is None or depth > MAX_TARGET_DEPTH:
        return None
    inputs = [_input_node(i) for i in node.input if not i.startswith("^")]
    if node.op == "Const":
        tensor = node.attr["value"].tensor
        values = [v.decode("utf-8", "replace") for v in tensor.string_val]
        return ", ".join(values) if values else None
    if node.op in {"Identity", "IdentityN", "StopGradient"} and inputs:
        return _constant(graph, scope, inputs[0], depth + 1)
    if node.op == "StringJoin":
        parts = [_constant(graph, scope, i, depth + 1) for i in inputs]
        if all(p is not None for p in parts):
            separator: bytes = node.attr["separator"].s
            return separator.decode("utf-8", "replace").join(p or "" for p in parts)
    return None
