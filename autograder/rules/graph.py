"""Rules on the computation: an exercise judged by the TensorFlow graph its function builds (grading process).

The name lists and the run-time watch (`autograder.rules.static`, `autograder.rules.watch`) read the student's
Python, which the student's own code can reach. A `GraphRule` reads what the function computes instead: the
grader traces the function once per case inside the student's job (`autograder.run.probes.graph.trace_graph`,
with the rule's `unknown` axes and the case's symbolic axes unknown), and a second, student-free job imports
that graph, lists its op types (the graph and its function library), refuses ops that could carry Python or
reach outside the computation (`unsafe_ops`), and runs it on the case's inputs
(`autograder.run.probes.graph.run_graph`). The op types that job reports are the evidence `graph_problem`
judges, and its outputs are the ones scored: the graph checked is the computation graded.

What the rule's fields mean, in graph terms:

- `loop`: the recurrence is a graph loop: a `While` or `StatelessWhile` op anywhere in the graph or its
  function library. `tf.scan`, `tf.foldl`, `tf.map_fn`, `tf.while_loop`, `tf.compat.v1.scan`, `keras.ops.scan`
  and AutoGraph's conversion of a `for` over a tensor (a student's own `@tf.function`) all build one: each is a
  graph loop whose length is read at run time, so each meets the rule. (`tf.while_loop` beside a dummy
  `tf.scan` is therefore accepted: the loop it builds carries the recurrence, which is what the exercise asks.)
- `unknown`: the axes whose size the trace hides (`{"x": (0, 1)}`: x's batch and time). Every case of the
  exercise is traced with them unknown, so a Python loop over time cannot be unrolled (it fails when traced,
  which costs the exercise with this rule's words), and a shape-dependent fallback (`if x.shape[1] is None`)
  is scored from its graph branch only: its Python branch never runs in the grader.
- `forbid_ops`: op types (`fnmatch` patterns) the graph may not hold: the fused library op that would do the
  exercise (`SparseSoftmaxCrossEntropyWithLogits`, `BlockLSTM*`, ...), whichever Python name built it.
- `no_gradients`: no automatic differentiation in the graph: no op type ending in `Grad` or `GradV2`, no
  `SymbolicGradient`, no `BroadcastGradientArgs`, no node or function in a `gradients`/`gradient_tape` scope.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOOP_OPS = ("While", "StatelessWhile")
"""The op types of a graph loop (control flow v2; `tf.while_loop` and every scan built on it)."""

PYTHON_OPS = ("PyFunc", "PyFuncStateless", "EagerPyFunc")
"""Ops that call back into Python (`tf.py_function`, `tf.numpy_function`, `tf.compat.v1.py_func`)."""

UNSAFE_EXACT = PYTHON_OPS + (
    "ImmutableConst", "VarHandleOp", "VariableV2", "Variable", "TemporaryVariable", "DestroyTemporaryVariable",
    "_Send", "_Recv", "_HostSend", "_HostRecv", "Send", "Recv", "RemoteCall", "RemoteFusedGraphExecute",
    "ShardedFilename", "ShardedFilespec", "SymbolicGradient",
)
UNSAFE_PARTS = ("File", "Save", "Restore", "Dataset", "Iterator", "Socket", "Reader", "Writer", "Summary",
                "Rpc", "Collective", "Load", "Debug", "TPU", "Tpu", "Queue", "Stage", "Barrier", "Accumulator",
                "Checkpoint", "Remote", "Nccl", "Mlir")
"""An op whose type holds one of these words may touch files, devices, other processes or Python: a graph that
holds one is never run (the clean job refuses it before importing anything)."""

GRADIENT_OPS = ("SymbolicGradient", "BroadcastGradientArgs")
GRADIENT_SUFFIXES = ("Grad", "GradV2", "GradGrad")
GRADIENT_NAME = re.compile(r"(^|/|_)(gradients|gradient_tape)(_\d+)?(/|$|_)")
"""A node or function name made by `tf.gradients` or `tf.GradientTape` (their name scopes)."""

MAX_GRAPH_BYTES = 8 * 2**20
"""A traced graph larger than this is refused (an honest exercise's graph is tens of kilobytes)."""


def unsafe_ops(ops: list[str] | set[str]) -> list[str]:
    """The op types of a graph that the clean job will not run (sorted)."""
    return sorted(op for op in set(ops)
                  if op in UNSAFE_EXACT or any(part in op for part in UNSAFE_PARTS))


def shown_op(op: str) -> str:
    """An op type as feedback may quote it (a graph's op names are the student's text)."""
    return op if re.fullmatch(r"[\w./>-]{1,80}", op) else "(an op with an unreadable name)"


def unsafe_message(exercise: str, ops: list[str]) -> str:
    """Why a graph is not run, in the student's words."""
    ops = [shown_op(op) for op in ops]
    python = [op for op in ops if op in PYTHON_OPS]
    if python:
        return (f"`{exercise}` runs Python inside its graph (op `{python[0]}`: tf.py_function, tf.numpy_function "
                "or py_func), which the grader cannot check: write every step with TensorFlow ops")
    return (f"`{exercise}`'s graph uses the op `{ops[0]}`, which reaches outside the computation (files, data "
            "sets, devices or variables): the grader does not run it; compute with TensorFlow ops on the inputs")


def gradient_marks(ops: list[str] | set[str], names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What in a graph is automatic differentiation: gradient op types, or names from a gradient scope."""
    marks = sorted(op for op in set(ops) if op in GRADIENT_OPS or op.endswith(GRADIENT_SUFFIXES))
    marks += [f"a node named `{n}`" for n in names if GRADIENT_NAME.search(n)][:1]
    return marks


def _axes(unknown: Any) -> tuple:
    """`unknown` as sorted pairs `(argument name or position, axes)`, hashable."""
    if isinstance(unknown, Mapping):
        return tuple(sorted(((k, tuple(int(a) for a in v)) for k, v in unknown.items()), key=lambda p: str(p[0])))
    return tuple((k, tuple(int(a) for a in v)) for k, v in (unknown or ()))


@dataclass(frozen=True)
class GraphRule:
    """What the graph of an exercise's function must and must not hold (see the module's docstring).

    Args:
        loop: the graph must hold a graph loop (`While`/`StatelessWhile`).
        forbid_ops: op types (`fnmatch` patterns) the graph may not hold.
        no_gradients: the graph may not differentiate (no gradient ops or gradient scopes).
        unknown: argument (name or position) -> the axes traced with an unknown size, e.g. `{"x": (0, 1)}`.
            Names are resolved against the reference's signature when the assignment is loaded.
        text: the rule in words, quoted in feedback (default: made from the fields).
    """

    loop: bool = False
    forbid_ops: tuple[str, ...] = ()
    no_gradients: bool = False
    unknown: Any = ()
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "forbid_ops", tuple(self.forbid_ops))
        object.__setattr__(self, "unknown", _axes(self.unknown))

    def __bool__(self) -> bool:
        return bool(self.loop or self.forbid_ops or self.no_gradients or self.unknown)

    def describe(self, exercise: str) -> str:
        """The rule in one sentence."""
        if self.text:
            return self.text
        parts = []
        if self.loop:
            parts.append("must carry the recurrence in a graph loop (tf.scan)")
        if self.no_gradients:
            parts.append("must compute its gradients by hand (no automatic differentiation)")
        if self.forbid_ops:
            parts.append("may not use the fused ops " + ", ".join(f"`{o}`" for o in self.forbid_ops))
        return f"`{exercise}` " + "; ".join(parts or ["is judged on its TensorFlow graph"])

    def positions(self, params: list[str]) -> "GraphRule":
        """The same rule with argument names in `unknown` turned into positions (an unknown name is an error)."""
        resolved = []
        for key, axes in self.unknown:
            if isinstance(key, str):
                if key not in params:
                    raise ValueError(f"GraphRule: the function has no positional argument {key!r}; "
                                     f"its arguments are {params}.")
                key = params.index(key)
            resolved.append((int(key), axes))
        return GraphRule(self.loop, self.forbid_ops, self.no_gradients, tuple(sorted(resolved)), self.text)

    def unknown_at(self, position: int) -> tuple[int, ...]:
        """The axes of positional argument `position` whose size the trace hides (names must be resolved)."""
        return next((axes for key, axes in self.unknown if key == position), ())

    def to_plain(self) -> dict:
        return {"loop": self.loop, "forbid_ops": list(self.forbid_ops), "no_gradients": self.no_gradients,
                "unknown": [[k, list(a)] for k, a in self.unknown], "text": self.text}

    @classmethod
    def from_plain(cls, data: dict | None) -> "GraphRule":
        data = data or {}
        unknown = tuple((k if isinstance(k, str) else int(k), tuple(int(x) for x in a))
                        for k, a in data.get("unknown") or ())
        return cls(bool(data.get("loop")), tuple(str(o) for o in data.get("forbid_ops") or ()),
                   bool(data.get("no_gradients")), unknown, str(data.get("text", "")))


def graph_problem(rule: GraphRule, exercise: str, ops: list[str] | set[str],
                  names: list[str] | tuple[str, ...] = ()) -> str | None:
    """The rule a graph breaks, in the student's words, or None.

    Args:
        rule: the exercise's graph rule.
        exercise: the function's name.
        ops: every op type in the graph and its function library (from the clean job).
        names: node and function names that look like gradient scopes (from the clean job).
    """
    ops = set(ops)
    bad = unsafe_ops(ops)
    if bad:
        return unsafe_message(exercise, bad)
    said = rule.describe(exercise)
    if rule.loop and not ops & set(LOOP_OPS):
        return f"{said}; your function's graph has no loop — a Python loop over time?"
    for pattern in rule.forbid_ops:
        hit = sorted(op for op in ops if fnmatch.fnmatchcase(op, pattern))
        if hit:
            return f"{said}; your function's graph uses the fused op `{shown_op(hit[0])}`"
    if rule.no_gradients:
        marks = gradient_marks(ops, names)
        if marks:
            mark = shown_op(marks[0][14:-1]) if marks[0].startswith("a node") else f"the op `{shown_op(marks[0])}`"
            mark = f"a node named `{mark}`" if marks[0].startswith("a node") else mark
            return f"{said}; your function's graph differentiates automatically ({mark})"
    return None


def trace_failed_message(rule: GraphRule, exercise: str, shapes: str, error: str) -> str:
    """What a failed trace costs, in the student's words: the rule when it asks for a loop, and the error."""
    head = f"{rule.describe(exercise)}; " if rule.loop else ""
    tail = " — a Python loop over time?" if rule.loop and "None" in error else ""
    return (f"{head}`{exercise}` could not be traced into a TensorFlow graph with the sizes unknown until it runs "
            f"(inputs of shapes {shapes}, None = unknown): {error}{tail}")
