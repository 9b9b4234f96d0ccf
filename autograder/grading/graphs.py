"""Exercises judged on their graph, on the grading side: the trace calls, the clean job, the verdicts.

For an exercise with a `GraphRule` (`autograder.rules.graph`), the submission's job makes a trace call per case
instead of the case's call (`trace_call`: the input values stay here, only their shapes travel). A second job
per submission, the clean job (`clean_job`), imports TensorFlow and holds no student code: it runs each
traced graph on its case's inputs (`autograder.run.probes.graph.run_graph`) and reports the graph's op types.
`merge` turns both runs into the call results the judge scores (outputs from the clean job only) and the
verdicts on the rule (from the clean job's evidence only); `apply_verdicts` writes them into the exercise's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.authoring.spec import Assignment
from autograder.grading.tf_errors import clean
from autograder.reports.results import ExerciseResult
from autograder.rules.graph import GraphRule, graph_problem
from autograder.run import Job, RunResult
from autograder.run.protocol import CallResult, ErrorInfo

TRACE_PROBE = "autograder.run.probes.graph:trace_graph_once"
RUN_PROBE = "autograder.run.probes.graph:run_graph"
TRACE_FLOOR_S = 8.0
"""Each trace call's time limit at least (tracing and freezing a graph costs more than one eager call)."""
CLEAN_SETUP = ("import numpy as np\nimport tensorflow as tf",)
"""The clean job's set-up: what running a graph needs, and nothing of the lesson's (its plotting library)."""
TRACE_FAILURE = "GraphTraceFailure"
UNSAFE = "UnsafeGraph"


def is_graph_call(call: dict) -> bool:
    return bool(call.get("graph")) and call.get("probe", "call") == "call"


def _spec(value: Any, axes: set[int] | None, tensors: bool) -> Any:
    """A plain argument with each numeric array replaced by its shape (`axes` unknown; None: every axis, nested
    arrays' too) and dtype."""
    if isinstance(value, dict) and "__array__" in value:
        if tensors and np.dtype(str(value.get("dtype"))).kind in "fiub":
            return {"__spec__": [None if axes is None or d in axes else int(s) for d, s in enumerate(value["shape"])],
                    "dtype": value["dtype"]}
        return value
    inner = None if axes is None else set()
    if isinstance(value, dict) and "__seq__" in value:
        return {"__seq__": value["__seq__"], "items": [_spec(v, inner, tensors) for v in value["items"]]}
    if isinstance(value, dict) and "__dict__" in value:
        return {"__dict__": {k: _spec(v, inner, tensors) for k, v in sorted(value["__dict__"].items())}}
    return value


def signature(call: dict, every_size_unknown: bool = False) -> dict:
    """The trace's signature of a case: `[args, kwargs]` with arrays as shapes and dtypes, never values.

    The unknown axes of positional argument i are the case's symbolic axes and the rule's `unknown` ones; with
    `every_size_unknown`, every axis of every tensor (ranks, dtypes and other values kept).
    """
    rule = GraphRule.from_plain(call.get("graph"))
    symbolic = call.get("symbolic") or []
    tensors = bool(call.get("tensors", True))
    args = []
    for i, a in enumerate(call.get("args", [])):
        axes = set(symbolic[i]) if i < len(symbolic) else set()
        args.append(_spec(a, None if every_size_unknown else axes | set(rule.unknown_at(i)), tensors))
    kwargs = {k: _spec(v, None if every_size_unknown else set(), tensors)
              for k, v in sorted(call.get("kwargs", {}).items())}
    return {"__seq__": "list", "items": [{"__seq__": "list", "items": args}, {"__dict__": kwargs}]}


def trace_call(call: dict) -> dict:
    """The student's job's call for a case of a graph-ruled exercise: trace, with no input values.

    It carries the case's signature and, where that has a known size, the general one (every size unknown),
    which the trace tries first (`autograder.run.probes.graph.trace_case`).
    """
    keep = ("exercise", "case", "function", "graph", "rules", "seed", "time_limit_s", "cpu_limit_s")
    own, wide = signature(call), signature(call, every_size_unknown=True)
    return {**{k: call[k] for k in keep if k in call}, "probe": TRACE_PROBE, "signature": own,
            **({"general": wide} if wide != own else {})}


def clean_call(call: dict, traced: Any) -> dict:
    """The clean job's call: the case's full call, run on the traced graph, with no rules to watch."""
    return {**call, "probe": RUN_PROBE, "traced": traced, "rules": None}


def student_calls(calls: list[dict]) -> list[dict]:
    """A submission job's calls with every graph-ruled case turned into its trace call.

    Only each exercise's first trace runs under the rules' run-time watch (`autograder.rules.watch`): for a
    graph-ruled exercise the graph is the evidence, and the watch, which slows a trace by half again, is the
    friendly early message about a forbidden name, which one case gives.
    """
    out, watched = [], set()
    for c in calls:
        if is_graph_call(c):
            c = trace_call(c)
            if c["exercise"] in watched:
                c = {**c, "rules": None}
            watched.add(c["exercise"])
        out.append(c)
    return out


def with_trace_floor(calls: list[dict]) -> list[dict]:
    """Trace calls get at least `TRACE_FLOOR_S`, wall-clock and CPU (their limits were scaled from one eager call)."""
    return [{**c, **{k: max(float(c.get(k) or 0.0), TRACE_FLOOR_S) for k in ("time_limit_s", "cpu_limit_s")}}
            if c.get("probe") == TRACE_PROBE else c for c in calls]


@dataclass
class CleanPlan:
    """A submission's clean job and what each of its calls stands for.

    Attributes:
        job: the job (None: no graph was traced, nothing to run).
        keys: `(exercise, case)` of each of the job's first calls, in order.
        boards: the leaderboard entries (by index) whose repeats follow the first calls, in order.
    """

    job: Job | None
    keys: list[tuple[str, str]] = field(default_factory=list)
    boards: list[int] = field(default_factory=list)


def clean_job(assignment: Assignment, original: Job, run: RunResult, deny: list[str], repeats: int) -> CleanPlan:
    """The clean job of one submission: its traced graphs, run on the cases' inputs, with no student code.

    Args:
        original: the submission's job before its graph cases became trace calls (its calls hold the inputs).
        run: what the submission's job sent back (its trace calls' results).
        deny: folders the job may not read.
        repeats: extra runs of each leaderboard case (`autograder.grading.leaderboard.LEADERBOARD_RUNS` - 1).
    """
    calls, keys = [], []
    traced: dict[tuple[str, str], dict] = {}
    for call, result in zip(original.calls, run.calls):
        if is_graph_call(call) and result is not None and result.ok:
            key = (str(call["exercise"]), str(call["case"]))
            traced[key] = clean_call(call, result.value)
            calls.append(traced[key])
            keys.append(key)
    if not calls:
        return CleanPlan(None)
    boards = []
    for i, board in enumerate(assignment.leaderboard):
        key = (board.exercise, board.case)
        if key in traced:
            calls += [traced[key]] * repeats
            boards.append(i)
    return CleanPlan(Job(list(CLEAN_SETUP), [], calls, original.seed, list(deny)), keys, boards)


@dataclass
class Merged:
    """Both runs of a submission as the judge reads them."""

    calls: dict[tuple[str, str], CallResult | None]
    case_verdicts: dict[tuple[str, str], str] = field(default_factory=dict)  # one case fails with these words
    exercise_verdicts: dict[str, str] = field(default_factory=dict)  # the whole exercise fails with these words


def merge(assignment: Assignment, keys: list[tuple[str, str]], run: RunResult, plan: CleanPlan | None,
          clean_run: RunResult | None) -> Merged:
    """The call results to score: a graph-ruled case's from the clean job, judged on the clean job's evidence."""
    own = dict(zip(keys, run.calls))
    ran = dict(zip(plan.keys, clean_run.calls)) if plan is not None and clean_run is not None else {}
    merged = Merged(dict(own))
    for ex in assignment.exercises:
        watched = [own.get((ex.name, c.name)) for c in ex.cases]
        if not ex.graph or any(r is not None and r.error is not None and r.error.type == "RuleBroken" for r in watched):
            continue  # the watch's early message stands (judged as any broken rule): no graph verdict over it
        for case in ex.cases:
            key = (ex.name, case.name)
            traced = own.get(key)
            if traced is None or not traced.ok:
                error = traced.error if traced is not None else None
                if error is not None and error.type == TRACE_FAILURE:
                    merged.case_verdicts[key] = clean(error.message)
                elif error is not None and ex.graph.loop and (error.timed_out or error.type == "StepTimeLimit"):
                    merged.case_verdicts[key] = (  # a trace with the time size unknown that never ends
                        f"{ex.graph.describe(ex.name)}; tracing `{ex.name}` with the time size unknown ran past its "
                        "time limit — a Python loop or recursion over time?")
                continue  # the trace's own error (a stub, a missing function, a rule the watch saw) is judged as is
            result = ran.get(key)
            merged.calls[key] = result
            if result is None:
                continue
            if not result.ok:
                if result.error is not None and result.error.type == UNSAFE:
                    merged.exercise_verdicts.setdefault(ex.name, clean(result.error.message))
                continue
            value = result.value if isinstance(result.value, dict) else {}
            ops, names = value.get("ops"), value.get("names") or []
            if not isinstance(ops, list):
                merged.calls[key] = CallResult(False, None, ErrorInfo("GraphError", "the graph's evidence is missing"))
                continue
            problem = graph_problem(ex.graph, ex.name, [str(o) for o in ops], [str(n) for n in names])
            if problem:
                merged.exercise_verdicts.setdefault(ex.name, problem)
                continue
            merged.calls[key] = CallResult(True, {k: v for k, v in value.items() if k in ("value", "grads")},
                                           None, result.seconds)
    return merged


def leaderboard_repeats(assignment: Assignment, run: RunResult, n_keys: int, plan: CleanPlan | None,
                        clean_run: RunResult | None, repeats: int) -> list[Any]:
    """The leaderboard's repeated runs, board by board: a graph-ruled case's from the clean job."""
    own = list(run.calls[n_keys:])
    theirs = list(clean_run.calls[len(plan.keys):]) if plan is not None and clean_run is not None else []
    out: list[Any] = []
    for board in assignment.leaderboard:
        graph = bool(assignment.exercise(board.exercise).graph)
        source = theirs if graph else own
        taken, source[:] = source[:repeats], source[repeats:]
        out += taken + [None] * (repeats - len(taken))
    return out


def apply_verdicts(result: ExerciseResult, merged: Merged) -> None:
    """Writes the graph verdicts into an exercise's row (in place); the row's own headline, if any, stays."""
    wide = merged.exercise_verdicts.get(result.name)
    changed = False
    for case in result.cases:
        words = wide or merged.case_verdicts.get((result.name, case.name))
        if words:
            case.passed, case.points, case.message = False, 0.0, words
            changed = True
    if not changed:
        return
    messages = {c.message for c in result.cases if not c.passed}
    if len(messages) == 1:
        result.message = messages.pop().splitlines()[0]
    else:
        failed = [c for c in result.cases if not c.passed]
        result.message = f"{len(failed)} of {len(result.cases)} cases failed; first: {failed[0].message.splitlines()[0]}"
