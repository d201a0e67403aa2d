"""What a SavedModel's graph can do to the machine it runs on, and when: read from its bytes, never run.

The ops that read, write, list or map files, reach the network, write to a stream or run Python come
from `op_capabilities.json`, generated from TensorFlow's op registry by tests/make_op_capabilities.py
and reviewed by hand. Each use of one in the graph or its function library is a Finding, placed:

- "at load": reachable from what loading runs (the init op, the saver's restore, a resource's
  `_create_resource` / `_initialize` / `_destroy_resource`, a saveable's restore function);
- "when called: NAME": reachable from a signature, or else from a function the object graph exposes
  to whoever holds what tf.saved_model.load returns (`serve`, `model.__call__`: its path of child
  names from the root). Signatures come first: they are what servers call, and a function behind one
  is exposed under its own attribute name too;
- "not reachable": in the library, called by nothing tfscope can see.

Reachability follows data and control inputs in the graph and every function an attribute names
(calls, control flow branches and loop bodies, dataset map/filter functions), so a ReadFile inside
a While body inside a dataset's map function is found. Targets are shown where the graph holds them
as constants: a Const, an Identity of one, a StringJoin of them, a function argument that every call
passes the same constant (a nested tf.function) or that is bound to a captured constant or asset.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from tui.formats.limits import Budget
from tui.formats.model_info import AT_LOAD, NOT_REACHABLE, UNSEEN_GRAPH, Finding, when_called

T = TypeVar("T")
TABLE_PATH = Path(__file__).with_name("op_capabilities.json")
INIT_OP_SIGNATURE = "__saved_model_init_op"
"""A signature TF adds for what loading runs (table initialisers): hidden from the signatures list."""
LOAD_TIME_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer", "saved_model_assets")
"""TF1 collections whose ops run when the model is loaded. Without a main op, tf.saved_model.load runs
Scaffold.default_local_init_op: the table initialisers and the local variables' initialisers."""
LOCAL_VARIABLES = "local_variables"
"""The TF1 collection of local variables (VariableDef protos): loading runs their initialisers."""
DATASET_FROM_GRAPH = "DatasetFromGraph"
"""An op that runs the GraphDef its string input holds: that graph is scanned in its place."""
MAX_GRAPH_NESTING = 4
"""DatasetFromGraph inside a DatasetFromGraph's graph, this deep at most (a crafted file nests more)."""
LOAD_TIME_FUNCTIONS = ("_create_resource", "_initialize", "_destroy_resource")
"""A restored resource (a lookup table) runs the first two while loading and the last when it is freed:
none waits for a call."""
MAX_TARGET_DEPTH = 8
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
"""Ops that call their `f` with their inputs as its arguments, in order."""
ATTR_DEFAULTS = {
    ("PrintV2", "output_stream"): "stderr",
    ("DecodeProtoV2", "descriptor_source"): "local://",
    ("EncodeProto", "descriptor_source"): "local://",
}
"""Target attributes' defaults in TF's op registry: a SavedModel strips an attribute left at its default."""
IN_MEMORY_DESCRIPTORS = ("local://", "bytes://")
"""descriptor_source values that open no file: the linked-in proto pool, or a FileDescriptorSet inline."""
SILENT_WHEN_EMPTY = frozenset(
    {"DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
     "FixedUnigramCandidateSampler"}
)  # fmt: skip
"""Ops whose target attribute, left empty, means they touch nothing: no debug URL to send or dump to,
no vocabulary file (the unigrams are given instead)."""


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


def graph_findings(meta_graph: Any, budget: Budget, nesting: int = 0) -> list[Finding]:
    """Every use of a capability op in `meta_graph`, with when it runs and its target where constant;
    the graphs DatasetFromGraph runs are scanned as part of it (`nesting`: how deep in them this one is)."""
    table = op_table()
    graph = _Graph(meta_graph, budget)
    uses = [(scope, node, table.ops.get(node.op)) for scope, node in graph.all_nodes()
            if node.op in table.ops or node.op == DATASET_FROM_GRAPH]  # fmt: skip
    if not uses:
        return []
    # The walks are made once each, and only when a use needs them: most models hold only the saver's ops.
    saver = _Lazy(lambda: graph.reach(_saver_roots(meta_graph)))
    filename = _input_node(meta_graph.saver_def.filename_tensor_name)
    at_load = _Lazy(lambda: graph.reach(_load_roots(meta_graph), functions=_load_functions(meta_graph)))
    called = _Lazy(
        lambda: {
            name: graph.reach(_input_node(t.name) for t in signature.outputs.values())
            for name, signature in sorted(meta_graph.signature_def.items())
            if name != INIT_OP_SIGNATURE
        }
    )
    exposed = _Lazy(
        lambda: {path: graph.reach((), functions) for path, functions in _exposed(meta_graph, budget).items()}
    )
    findings: list[Finding] = []
    for scope, node, capability in uses:
        if (
            node.op in table.saver_ops
            and saver().holds(scope, node.name)
            and filename
            and all(graph.fed_by(scope, node, index, filename) for index in SAVER_PATH_INPUTS.get(node.op, (0,)))
        ):
            continue  # the standard saver's own file ops, on the path the saver is given: every SavedModel has them
        budget.spend(1, on="capability ops")
        inner: list[Finding] = []
        if capability is None:  # DatasetFromGraph: the graph it runs holds the findings
            inner = _inner_graph_findings(graph, scope, node, budget, nesting)
            if not inner:
                continue
            used: tuple[str, str | None] | None = ("", None)
        else:
            used = capability_use(node.op, capability, node.attr, functools.partial(graph.input_constant, scope, node))
        if used is None:
            continue  # set up to reach nothing: a debug op without URLs, a proto op with its own descriptors
        kind, target = used
        if kind == "file_read" and isinstance(target, AssetPath) and target.own:
            continue  # a lookup table filling itself from the model's own vocabulary file, as TF Hub text models do
        when = NOT_REACHABLE
        if at_load().holds(scope, node.name):
            when = AT_LOAD
        else:
            callers = [name for name, reach in called().items() if reach.holds(scope, node.name)]
            if not callers and scope is not None:  # object-graph functions reach library functions only
                callers = [path for path, reach in exposed().items() if reach.holds(scope, node.name)]
            if callers:
                when = when_called(callers)
        where = f"{scope}/{node.name}" if scope else node.name
        if inner:  # what the embedded graph does runs when this node does
            findings.extend(Finding(f.name, f.capability, f.target, when, f"{where} > {f.where}" if f.where else where)
                            for f in inner)  # fmt: skip
            continue
        findings.append(Finding(node.op, kind, None if target is None else str(target), when, where))
    findings.sort(key=lambda f: (f.when != AT_LOAD, f.when == NOT_REACHABLE, f.capability, f.name, f.where))
    return findings


SAVER_PATH_INPUTS = {"SaveV2": (0,), "RestoreV2": (0,), "MergeV2Checkpoints": (0, 1)}
"""The inputs of the saver's ops that name files: each must come from the saver's filename tensor."""


def _inner_graph_findings(graph: _Graph, scope: str | None, node: Any, budget: Budget, nesting: int) -> list[Finding]:
    """What the GraphDef a DatasetFromGraph runs can do: its findings (placed "not reachable": the caller
    places them where the node is), or one finding for a graph held in no constant (computed, unseen)."""
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto.meta_graph_pb2 import MetaGraphDef

    data = graph.input_bytes(scope, node, 0)
    unseen = [Finding(DATASET_FROM_GRAPH, UNSEEN_GRAPH, None, NOT_REACHABLE, "")]
    if data is None or nesting >= MAX_GRAPH_NESTING:
        return unseen
    budget.spend(len(data), on="embedded graph bytes")
    inner = MetaGraphDef()
    try:
        inner.graph_def.ParseFromString(data)
    except DecodeError:
        return unseen  # TensorFlow cannot run it either, but tfscope cannot say so for every version
    return graph_findings(inner, budget, nesting + 1)


class _Lazy(Generic[T]):
    """A value worked out on the first call, then kept."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._value: T | None = None

    def __call__(self) -> T:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return cast(T, self._value)


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
        self.meta_graph = meta_graph
        self.nodes = {node.name: node for node in meta_graph.graph_def.node}
        self.functions = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        self._function_nodes: dict[str, dict[str, Any]] = {}
        self._callees: dict[str, list[str]] = {}
        self._call_sites: dict[str, list[tuple[str | None, Any]]] | None = None
        self._passed_otherwise: set[str] = set()
        self._constants: dict[tuple[str | None, str], str | None] = {}
        """Targets worked out so far; None also while one is being worked out (a cycle of calls)."""

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
            self.budget.spend(1, on="function calls")
            pending.extend(self.callees(name))
        return _Reach(seen, called)

    def callees(self, function: str) -> list[str]:
        """The functions `function`'s nodes call or name, read once: every caller's walk shares them."""
        if function not in self._callees:
            found: list[str] = []
            for node in self.functions[function].node_def:
                self.budget.spend(1, on="graph edges")
                found.extend(_called_functions(node))
                if node.op in self.functions:
                    found.append(node.op)
            self._callees[function] = found
        return self._callees[function]

    def call_sites(self, function: str) -> list[tuple[str | None, Any]] | None:
        """The nodes that call `function` with their inputs as its arguments; None where something
        else also runs it (a branch, a loop body, a dataset function), which passes arguments its own way."""
        if self._call_sites is None:
            self._call_sites = {}
            for scope, node in self.all_nodes():
                self.budget.spend(1, on="graph edges")
                if node.op in self.functions:  # TF1 calls a library function by using its name as the op
                    self._call_sites.setdefault(node.op, []).append((scope, node))
                for key, value in node.attr.items():
                    if value.HasField("func") and key == "f" and node.op in CALL_OPS:
                        self._call_sites.setdefault(value.func.name, []).append((scope, node))
                    elif value.HasField("func"):
                        self._passed_otherwise.add(value.func.name)
                    elif value.HasField("list"):
                        self._passed_otherwise.update(f.name for f in value.list.func)
        if function in self._passed_otherwise:
            return None
        return self._call_sites.get(function, [])

    def input_bytes(self, scope: str | None, node: Any, index: int) -> bytes | None:
        """The one string a node's `index`th data input carries where a Const (or an Identity of one) holds
        it, as bytes: a serialized proto, not text."""
        inputs = [i for i in node.input if not i.startswith("^")]
        if not 0 <= index < len(inputs):
            return None
        source = self.nodes_of(scope).get(_input_node(inputs[index]))
        for _ in range(MAX_TARGET_DEPTH):
            if source is None:
                return None
            if source.op == "Const":
                values = source.attr["value"].tensor.string_val
                return bytes(values[0]) if len(values) == 1 else None
            ahead = [i for i in source.input if not i.startswith("^")]
            if source.op not in {"Identity", "StopGradient"} or not ahead:
                return None
            source = self.nodes_of(scope).get(_input_node(ahead[0]))
        return None

    def fed_by(self, scope: str | None, node: Any, index: int, target: str, depth: int = 0) -> bool:
        """Whether the top-level node `target` feeds a node's `index`th data input, through data inputs and
        function arguments (every call of the function passing it): the saver's path from its filename."""
        inputs = [i for i in node.input if not i.startswith("^")]
        return 0 <= index < len(inputs) and self._derives_from(scope, _input_node(inputs[index]), target, depth)

    def _derives_from(self, scope: str | None, name: str, target: str, depth: int) -> bool:
        if depth > MAX_TARGET_DEPTH:
            return False
        nodes = self.nodes_of(scope)
        seen: set[str] = set()
        todo = deque([name])
        while todo:
            current = todo.popleft()
            if current in seen:
                continue
            seen.add(current)
            self.budget.spend(1, on="graph edges")
            if scope is None and current == target:
                return True
            found = nodes.get(current)
            if found is not None:
                todo.extend(_input_node(i) for i in found.input if not i.startswith("^"))
            elif scope is not None and self._argument_derives_from(scope, current, target, depth):
                return True
        return False

    def _argument_derives_from(self, function: str, name: str, target: str, depth: int) -> bool:
        args = [arg.name for arg in self.functions[function].signature.input_arg]
        sites = self.call_sites(function) if name in args else None
        if not sites:  # not an argument, run by something other than calls, or called by nothing
            return False
        index = args.index(name)
        return all(self.fed_by(scope, node, index, target, depth + 1) for scope, node in sites)

    def input_constant(self, scope: str | None, node: Any, index: int) -> str | None:
        """The constant a node's `index`th data input always carries, if the graph holds one."""
        inputs = [i for i in node.input if not i.startswith("^")]
        return self.constant(scope, _input_node(inputs[index])) if 0 <= index < len(inputs) else None

    def constant(self, scope: str | None, name: str, depth: int = 0) -> str | None:
        """The string a node (or a function's argument) always produces, where the graph holds it."""
        key = (scope, name)
        if key in self._constants:
            return self._constants[key]
        if depth > MAX_TARGET_DEPTH:
            return None
        self.budget.spend(1, on="constant targets")
        self._constants[key] = None
        value = self._produced(scope, name, depth)
        self._constants[key] = value
        return value

    def _produced(self, scope: str | None, name: str, depth: int) -> str | None:
        node = self.nodes_of(scope).get(name)
        if node is None:
            return self._argument(scope, name, depth) if scope is not None else None
        if scope is None and name in self._asset_tensors:
            return self._asset_tensors[name]
        inputs = [_input_node(i) for i in node.input if not i.startswith("^")]
        if node.op == "Const":
            tensor = node.attr["value"].tensor
            values = [v.decode("utf-8", "replace") for v in tensor.string_val]
            return ", ".join(values) if values else None
        if node.op in {"Identity", "IdentityN", "StopGradient"} and inputs:
            return self.constant(scope, inputs[0], depth + 1)
        if node.op == "StringJoin":
            parts = [self.constant(scope, i, depth + 1) for i in inputs]
            if all(p is not None for p in parts):
                separator: bytes = node.attr["separator"].s
                return separator.decode("utf-8", "replace").join(p or "" for p in parts)
        if node.op == "ReadVariableOp" and scope is None and inputs:
            return self._variable(inputs[0], depth)
        return None

    def _variable(self, handle: str, depth: int) -> str | None:
        """A top-level variable's value where the graph only ever assigns it one constant: TF's way to
        hand an asset's path to initialisers (a Placeholder fed with it, assigned to a variable). Passed
        to anything but a read, as the restore function takes checkpointed ones, it is not a constant."""
        self.budget.spend(len(self.nodes), on="variable uses")
        values: set[str | None] = set()
        for node in self.nodes.values():
            uses = [i for i in node.input if not i.startswith("^") and _input_node(i) == handle]
            if not uses or node.op in {"ReadVariableOp", "VarIsInitializedOp"}:
                continue
            if node.op != "AssignVariableOp" or len(node.input) < 2 or _input_node(node.input[0]) != handle:
                return None
            values.add(self.constant(None, _input_node(node.input[1]), depth + 1))
        return values.pop() if len(values) == 1 else None

    def _argument(self, function: str, name: str, depth: int) -> str | None:
        """An argument's value, where every call passes the same constant and, for a function the object
        graph holds, where it binds the argument to a captured constant or asset (what loading passes)."""
        args = [arg.name for arg in self.functions[function].signature.input_arg]
        if name not in args:
            return None
        index = args.index(name)
        sites = self.call_sites(function)
        if sites is None:
            return None
        values: set[str | None] = set()
        for scope, node in sites:
            inputs = [i for i in node.input if not i.startswith("^")]
            values.add(self.constant(scope, _input_node(inputs[index]), depth + 1) if index < len(inputs) else None)
        objects = self.meta_graph.object_graph_def
        if function in objects.concrete_functions:
            bound = objects.concrete_functions[function].bound_inputs
            position = index - (len(args) - len(bound))  # captures are a concrete function's last arguments
            # Not a capture: whoever calls the loaded function passes it.
            values.add(self._bound(bound[position]) if position >= 0 else None)
        return values.pop() if len(values) == 1 else None

    def _bound(self, node_id: int) -> str | None:
        """The value of the object a concrete function captured: a constant, or an asset's path."""
        objects = self.meta_graph.object_graph_def
        if not 0 <= node_id < len(objects.nodes):
            return None
        saved = objects.nodes[node_id]
        kind = saved.WhichOneof("kind")
        if kind == "constant":
            return self.constant(None, _input_node(saved.constant.operation))
        if kind == "asset" and 0 <= saved.asset.asset_file_def_index < len(self.meta_graph.asset_file_def):
            return _asset_path(self.meta_graph.asset_file_def[saved.asset.asset_file_def_index].filename)
        return None

    @functools.cached_property
    def _asset_tensors(self) -> dict[str, AssetPath]:
        """Top-level nodes that loading feeds with the path of one of the model's assets."""
        return {_input_node(a.tensor_info.name): _asset_path(a.filename) for a in self.meta_graph.asset_file_def}


class AssetPath(str):
    """The path loading hands over for one of the model's assets: the model's own `assets/NAME`, or,
    where the recorded name is absolute or climbs out with `..`, wherever that leads (loading joins it
    to the assets folder as `os.path.join` does). Equal only to another AssetPath: a Const holding the
    same text names a file relative to the user's working folder, not the model's."""

    __slots__ = ()

    @property
    def own(self) -> bool:
        """A file inside the model's own assets folder."""
        parts = self.split("/")
        return parts[0] == "assets" and len(parts) > 1 and all(p not in {"", ".", ".."} for p in parts[1:])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetPath) and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(("asset", str(self)))


def _asset_path(filename: str) -> AssetPath:
    """Where loading finds an asset recorded as `filename` (see AssetPath)."""
    return AssetPath(filename if filename.startswith("/") else f"assets/{filename}")


def _exposed(meta_graph: Any, budget: Budget) -> dict[str, list[str]]:
    """Functions the object graph exposes, by their path of child names from the root: what code holding
    tf.saved_model.load's result can call. A breadth-first walk names each by its shortest path; two
    objects under one path (a crafted file repeats a child's name) are both under it."""
    nodes = meta_graph.object_graph_def.nodes
    exposed: dict[str, list[str]] = {}
    seen = {0}
    todo = deque([(0, "")]) if nodes else deque()
    while todo:
        index, path = todo.popleft()
        budget.spend(1, on="objects")
        node = nodes[index]
        functions = _functions_of(node)
        if functions:
            exposed.setdefault(path or "root", []).extend(functions)
            continue  # a function's children are its traces: the same code again
        for child in node.children:
            if 0 <= child.node_id < len(nodes) and child.node_id not in seen:
                seen.add(child.node_id)
                todo.append((child.node_id, f"{path}.{child.local_name}" if path else child.local_name))
    return exposed


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
    if LOCAL_VARIABLES in meta_graph.collection_def:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto.variable_pb2 import VariableDef

        for raw in meta_graph.collection_def[LOCAL_VARIABLES].bytes_list.value:
            variable = VariableDef()
            try:
                variable.ParseFromString(raw)
            except DecodeError:
                continue  # TF cannot restore it either
            roots.extend(_input_node(n) for n in (variable.initializer_name, variable.initial_value_name) if n)
    return roots


def _load_functions(meta_graph: Any) -> list[str]:
    """Functions TF2 loading calls directly (or, for destroyers, freeing what it loaded): resources'
    creators, initialisers and destroyers, saveables' restores."""
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


def capability_use(
    op: str, capability: OpCapability, attrs: Mapping[str, Any], input_constant: Callable[[int], str | None]
) -> tuple[str, str | None] | None:
    """What one use of a capability op does, and its target where constant; None where it reaches nothing.

    Args:
        op: The op type.
        capability: Its row of the table.
        attrs: Its NodeDef's attributes (AttrValue protos by name).
        input_constant: The constant its Nth data input carries, or None where computed.
    """
    target: str | None = None
    if capability.target_attr is not None:
        if capability.target_attr in attrs:
            value = attrs[capability.target_attr]
            texts = list(value.list.s) if value.HasField("list") else [value.s]
            target = ", ".join(t.decode("utf-8", "replace") for t in texts if t) or None
        else:
            target = ATTR_DEFAULTS.get((op, capability.target_attr))
        if target is None and op in SILENT_WHEN_EMPTY:
            return None
        if capability.target_attr == "descriptor_source" and (target or "").startswith(IN_MEMORY_DESCRIPTORS):
            return None
    elif capability.target_input is not None:
        target = input_constant(capability.target_input)
    kind = capability.capability
    if target is not None and kind in {"stream", "network"} and "file://" in target:
        kind = "file_write"  # PrintV2 to file://..., a debug URL that writes dumps to disk
    return kind, target
