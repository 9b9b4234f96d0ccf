"""Probes for exercises judged on their graph (`autograder.rules.graph`): trace in the student's job, run clean.

`trace_case` runs in the student's job (and in `check`): it traces with every size unknown where the function
allows it, so that one graph serves every case of the exercise, else with the case's own sizes. `trace_graph`
wraps the student's function in `tf.function` with an input signature made from those sizes, takes
the concrete function, freezes what it captured into constants, and returns the `GraphDef` (with its function
library) as base64 plus the names of its inputs and outputs and the shape of its result. It never receives
the case's input values: only their shapes, dtypes and any non-tensor arguments.

`run_graph` runs in a second job that holds no student code (and in `check`, on the graph just traced): it
parses the graph, lists every op type in it and its library, refuses a graph holding an op that could run
Python or reach outside the computation, imports it (`tf.compat.v1.wrap_function` + `import_graph_def` +
`prune`), and runs it on the case's inputs, with gradients for `grad_wrt` cases taken through the imported
graph exactly as `autograder.run.probes.call.probe_call` takes them through the student's function (a tape
over the imported function: gradients flow through an imported `While`). It returns the call probe's plain
result plus the evidence (`ops`, `names`) the grading side judges.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any

from autograder.rules.graph import (
    GRADIENT_NAME, MAX_GRAPH_BYTES, GraphRule, graph_problem, trace_failed_message, unsafe_message, unsafe_ops,
)
from autograder.rules.watch import WATCHED
from autograder.run.plain import to_plain
from autograder.run.probes.call import _weighted_sum, as_argument
from autograder.run.probes.lookup import find_function


class GraphTraceFailure(Exception):
    """The student's function could not be traced into a graph (with the sizes the rule hides).

    Attributes:
        endless: it recursed past the trace's depth (`TRACE_DEPTH`), as a recursion over a size it cannot know does.
    """

    def __init__(self, message: str, endless: bool = False) -> None:
        super().__init__(message)
        self.endless = endless


TRACE_DEPTH = 400
"""Frames a trace may add to the stack: honest graded functions trace within about 50. A recursion over an
unknown size stops here, in about a second, instead of at the interpreter's limit (several seconds, most of a
trace call's time limit on a busy machine)."""


def _depth() -> int:
    frame, depth = sys._getframe(), 0  # noqa: SLF001
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth




class UnsafeGraph(Exception):
    """A traced graph holds an op the grader will not run (Python, files, devices)."""


def _spec_leaves(node: Any, out: list) -> Any:
    """A signature's structure with each `{"__spec__": shape, "dtype": d}` leaf replaced by its index in `out`."""
    if isinstance(node, dict) and "__spec__" in node:
        out.append(node)
        return {"__leaf__": len(out) - 1}
    if isinstance(node, dict) and "__seq__" in node:
        return {"__seq__": node["__seq__"], "items": [_spec_leaves(v, out) for v in node["items"]]}
    if isinstance(node, dict) and "__dict__" in node:
        return {"__dict__": {k: _spec_leaves(v, out) for k, v in node["__dict__"].items()}}
    return node


def _hides_a_size(signature: Any) -> bool:
    """Whether a signature leaves some axis unknown."""
    leaves: list = []
    _spec_leaves(signature, leaves)
    return any(d is None for leaf in leaves for d in leaf["__spec__"])


def _fill(node: Any, tensors: list) -> Any:
    """The argument structure with each leaf index replaced by its tensor (other values as the call gave them)."""
    if isinstance(node, dict) and "__leaf__" in node:
        return tensors[node["__leaf__"]]
    if isinstance(node, dict) and "__seq__" in node:
        items = [_fill(v, tensors) for v in node["items"]]
        return tuple(items) if node["__seq__"] == "tuple" else items
    if isinstance(node, dict) and "__dict__" in node:
        return {k: _fill(v, tensors) for k, v in node["__dict__"].items()}
    return as_argument(node, False)


def _shown(specs: list) -> str:
    return ", ".join(str(tuple(s.shape)) for s in specs)


def trace_graph(namespace: dict, call: dict) -> dict:
    """Traces `call["function"]` for `call["signature"]` into a frozen, serialized graph (see the module).

    Raises:
        GraphTraceFailure: the function cannot be traced with those sizes (in the student's words).
        NotImplementedError: the function is still a stub.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    name = str(call["function"])
    fn = find_function(namespace, name)
    rule = GraphRule.from_plain(call.get("graph"))
    leaves: list = []
    template = _spec_leaves(call["signature"], leaves)
    specs = [tf.TensorSpec([None if d is None else int(d) for d in leaf["__spec__"]], tf.as_dtype(leaf["dtype"]))
             for leaf in leaves]

    def flat(*tensors: Any) -> Any:
        args, kwargs = _fill(template, list(tensors))
        return fn(*args, **kwargs)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, _depth() + TRACE_DEPTH))
    try:
        concrete = tf.function(flat, input_signature=specs, autograph=False).get_concrete_function()
    except NotImplementedError as exc:
        if "symbolic" in str(exc) and "numpy" in str(exc).lower():  # np.* on a graph tensor: judged as such
            raise
        raise NotImplementedError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the student's error, in their words
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise GraphTraceFailure(trace_failed_message(rule, name, _shown(specs),
                                                     f"{type(exc).__name__}: {first}"[:600]),
                                endless=isinstance(exc, RecursionError)) from None
    finally:
        sys.setrecursionlimit(limit)
    calls = {"PartitionedCall", "StatefulPartitionedCall"}
    try:  # what it captured (a variable, a tensor made outside) becomes a constant, and a call of another compiled
        # function (the student's own @tf.function) is inlined, so that gradients flow through the imported graph
        plain = concrete.graph.as_graph_def()
        called = any(n.op in calls for n in plain.node) or any(
            n.op in calls for f in plain.library.function for n in f.node_def)
        frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False, aggressive_inlining=True) if (
            list(concrete.captured_inputs) or called) else concrete
    except Exception as exc:  # noqa: BLE001 - something in the graph cannot be frozen (a variable made inside)
        raise GraphTraceFailure(trace_failed_message(
            rule, name, _shown(specs), f"its graph could not be frozen ({type(exc).__name__}): keep the "
            "function free of state (no tf.Variable, no table) and compute from its arguments")) from None
    data = frozen.graph.as_graph_def().SerializeToString(deterministic=True)  # the same graph, the same bytes
    if len(data) > MAX_GRAPH_BYTES:
        raise GraphTraceFailure(trace_failed_message(
            rule, name, _shown(specs), f"its graph is {len(data) // 2**20} MB, over the grader's "
            f"{MAX_GRAPH_BYTES // 2**20} MB limit (a loop unrolled in Python?)"))
    outputs = [t.name for t in frozen.outputs]
    position = {n: i for i, n in enumerate(outputs)}

    def shape_of(value: Any) -> Any:
        if isinstance(value, tf.Tensor):
            return {"__out__": position[value.name]} if value.name in position else to_plain(None)
        if type(value) in (list, tuple):
            return {"__seq__": type(value).__name__, "items": [shape_of(v) for v in value]}
        if type(value) is dict:
            return {"__dict__": {str(k): shape_of(v) for k, v in value.items()}}
        return {"__const__": to_plain(value)}

    return {"graph": base64.b64encode(data).decode("ascii"), "inputs": [t.name for t in frozen.inputs],
            "outputs": outputs, "structure": shape_of(frozen.structured_outputs)}


_TRACES: dict[str, tuple[Any, dict | GraphTraceFailure]] = {}
"""This job's traces (or trace failures), by function and signature (`trace_graph_once`)."""


def trace_case(namespace: dict, call: dict, cache: dict | None = None) -> dict:
    """The case's graph: traced with every size unknown when the function allows it, else with the case's own.

    A call may carry `general`, its signature with every axis unknown (`autograder.grading.graphs.trace_call`):
    one graph traced that way serves every case of the exercise whose arguments have the same ranks and
    dtypes, as `tf.function(reduce_retracing=True)` relaxes sizes. A function that cannot be traced so (it
    reads a size as a Python number) is traced with the case's own sizes, as if `general` were absent.

    Args:
        cache: traces kept by function and signature (failures too), shared by a job's calls; None traces afresh.
    """
    general = call.get("general")
    if general is not None:
        try:
            return _traced(namespace, {**call, "signature": general}, cache)
        except GraphTraceFailure as exc:
            if exc.endless and _hides_a_size(call["signature"]):
                raise  # a recursion over a size the case's signature hides too would recurse just the same
    return _traced(namespace, call, cache)


def _traced(namespace: dict, call: dict, cache: dict | None) -> dict:
    if cache is None:
        return trace_graph(namespace, call)
    fn = find_function(namespace, str(call["function"]))
    own = getattr(fn, WATCHED, fn)  # under the rules' watch: the student's function it wraps
    key = json.dumps([id(own), call["signature"], call.get("graph")], sort_keys=True, default=str)
    kept = cache.get(key)
    if kept is None or kept[0] is not own:
        try:
            kept = (own, trace_graph(namespace, call))
        except GraphTraceFailure as exc:
            kept = (own, exc)
        cache[key] = kept
    if isinstance(kept[1], GraphTraceFailure):
        raise GraphTraceFailure(str(kept[1]), kept[1].endless) from None
    return kept[1]


def trace_graph_once(namespace: dict, call: dict) -> dict:
    """`trace_case`, traced once per function and signature in this job, as `tf.function` itself would.

    The grader's trace calls use it: the cases of an exercise that share a signature share one graph (the same
    bytes), which the clean job then imports once (`run_graph`). `check` traces every case afresh.
    """
    return trace_case(namespace, call, _TRACES)


def _rebuild(node: Any, outs: list) -> Any:
    if isinstance(node, dict) and "__out__" in node:
        return outs[int(node["__out__"])]
    if isinstance(node, dict) and "__const__" in node:
        from autograder.run.plain import from_plain

        return from_plain(node["__const__"])
    if isinstance(node, dict) and "__seq__" in node:
        items = [_rebuild(v, outs) for v in node["items"]]
        return tuple(items) if node["__seq__"] == "tuple" else items
    if isinstance(node, dict) and "__dict__" in node:
        return {k: _rebuild(v, outs) for k, v in node["__dict__"].items()}
    raise ValueError("the traced graph's result structure is malformed")


def graph_evidence(graph_def: Any) -> tuple[list[str], list[str]]:
    """Every op type in a graph and its function library, and the names that look like gradient scopes."""
    ops: set[str] = set()
    names: list[str] = []
    for node in graph_def.node:
        ops.add(node.op)
        if GRADIENT_NAME.search(node.name):
            names.append(node.name)
    for function in graph_def.library.function:
        if GRADIENT_NAME.search(function.signature.name):
            names.append(function.signature.name)
        for node in function.node_def:
            ops.add(node.op)
            if GRADIENT_NAME.search(node.name):
                names.append(node.name)
    for gradient in graph_def.library.gradient:  # a custom gradient registered for a function
        names.append(f"gradients/{gradient.gradient_func}")
    return sorted(ops), names[:5]


def _renamed(graph_def: Any) -> Any:
    """The graph with every function of its library under a fresh name (references included).

    Graphs traced in different processes reuse function names (`scan_while_body_12`) for different
    functions; imported into one process, a second graph's would clash with the first's. Fresh, unguessable
    names also keep a graph from calling a function another graph registered.
    """
    import os

    tag = os.urandom(6).hex()
    names = {f.signature.name: f"{f.signature.name}_g{tag}" for f in graph_def.library.function}
    if not names:
        return graph_def

    def fix(attr: Any) -> None:
        if attr.HasField("func"):
            attr.func.name = names.get(attr.func.name, attr.func.name)
            for inner in attr.func.attr.values():
                fix(inner)
        if attr.HasField("list"):
            for func in attr.list.func:
                func.name = names.get(func.name, func.name)

    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        function.signature.name = names[function.signature.name]
        nodes += list(function.node_def)
    for node in nodes:
        if node.op in names:  # a function called as an op
            node.op = names[node.op]
        for attr in node.attr.values():
            fix(attr)
    for gradient in graph_def.library.gradient:
        gradient.function_name = names.get(gradient.function_name, gradient.function_name)
        gradient.gradient_func = names.get(gradient.gradient_func, gradient.gradient_func)
    return graph_def


def parse_graph(traced: Any) -> Any:
    """The `GraphDef` a trace sent (strict about its form and size)."""
    import tensorflow as tf

    if not isinstance(traced, dict) or not isinstance(traced.get("graph"), str):
        raise UnsafeGraph("the traced graph was not sent in the grader's format")
    encoded = traced["graph"]
    if len(encoded) > 4 * MAX_GRAPH_BYTES // 3 + 4:
        raise UnsafeGraph(f"the traced graph is over the grader's {MAX_GRAPH_BYTES // 2**20} MB limit")
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(base64.b64decode(encoded, validate=True))
    return graph_def


_IMPORTED: dict[str, Any] = {}
"""Graphs this job imported, by a hash of their bytes and ends: the same graph is imported once."""


def _imported(graph_def: Any, encoded: str, inputs: list[str], outputs: list[str]) -> Any:
    """The graph imported into this process and pruned to a function of `inputs` giving `outputs`."""
    import tensorflow as tf

    key = hashlib.sha256(json.dumps([encoded, inputs, outputs]).encode()).hexdigest()
    if key in _IMPORTED:
        return _IMPORTED[key]
    graph_def = _renamed(graph_def)

    def imported() -> None:
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(imported, [])
    feeds = [wrapped.graph.get_tensor_by_name(n) for n in inputs]
    # The signature lets a call bind its tensors at once: without it TensorFlow first tries to bind them to a
    # signature that does not fit and formats every input into the message it then drops (most of a call's time).
    pruned = wrapped.prune(feeds=feeds, fetches=[wrapped.graph.get_tensor_by_name(n) for n in outputs],
                           input_signature=(tuple(tf.TensorSpec(t.shape, t.dtype) for t in feeds), {}))
    _IMPORTED[key] = pruned
    return pruned


def run_graph(namespace: dict, call: dict) -> dict:
    """Runs a traced graph on the case's inputs; the call probe's result plus `ops` and `names` (evidence).

    Raises:
        UnsafeGraph: the graph holds an op that could run Python or reach outside the computation.
    """
    import tensorflow as tf

    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})  # run as traced: fast, as eager
    try:
        return _run_graph(call)
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False, **previous})


def _run_graph(call: dict) -> dict:
    import tensorflow as tf

    name = str(call.get("function", ""))
    traced = call.get("traced")
    graph_def = parse_graph(traced)
    ops, names = graph_evidence(graph_def)
    bad = unsafe_ops(ops)
    if bad:
        raise UnsafeGraph(unsafe_message(name, bad))
    evidence = {"ops": ops, "names": names}
    if graph_problem(GraphRule.from_plain(call.get("graph")), name, ops, names):
        return evidence  # judged on its evidence alone: nothing to run
    inputs, outputs = list(traced["inputs"]), list(traced["outputs"])
    pruned = _imported(graph_def, traced["graph"], inputs, outputs)
    args = [as_argument(a, call.get("tensors", True)) for a in call.get("args", [])]
    kwargs = {k: as_argument(v, call.get("tensors", True)) for k, v in call.get("kwargs", {}).items()}
    feeds = [t for t in tf.nest.flatten([args, kwargs]) if isinstance(t, tf.Tensor)]
    if len(feeds) != len(inputs):
        raise UnsafeGraph(f"the traced graph takes {len(inputs)} inputs, the case has {len(feeds)}")

    def run() -> Any:
        return _rebuild(traced["structure"], list(pruned(*feeds)) if outputs else [])

    grad_wrt = call.get("grad_wrt") or []
    if not grad_wrt:
        return {"value": to_plain(run()), **evidence}
    watched = [args[i] for i in grad_wrt]
    with tf.GradientTape() as tape:
        for t in tf.nest.flatten(watched):
            tape.watch(t)
        out = run()
        total = _weighted_sum(out)
    grads = tape.gradient(total, watched)
    return {"value": to_plain(out), "grads": [to_plain(g) for g in grads], **evidence}
