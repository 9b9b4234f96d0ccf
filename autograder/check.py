"""`check(...)`: the student's side, run in the student's own kernel.

Runs an exercise's public cases against the function defined in the
notebook, with the same probes and the same comparison the grader uses, so
the two never disagree on a public case. Needs no notebook file on disk
(Colab): the public cases travel in the student notebook's checker cell
(`check = checker("A2", cases=...)`, written by `autograder assign`; see
`autograder.authoring.public`), never in the installed package.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Callable

from autograder.authoring.public import decode, find_public
from autograder.grading.graphs import clean_call, trace_call
from autograder.grading.judge import compare_call, explain_error
from autograder.grading.locate import GRADED, first_line
from autograder.grading.tf_errors import clean, student_line, student_traceback
from autograder.rules.graph import GraphRule, graph_problem
from autograder.run import tf_state
from autograder.run.probes.call import run_call
from autograder.run.probes.graph import GraphTraceFailure, UnsafeGraph, run_graph, trace_case
from autograder.rules.watch import LIBRARY_DIRS, RuleBroken, call_watched
from autograder.rules.static import Rules, static_violations, violation_message
from autograder.run.protocol import ErrorInfo
from autograder.authoring.spec import Case


_LOADED: dict[str, dict] = {}
_LIBRARY = tuple(sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, *LIBRARY_DIRS}))
"""Where code is not the student's: its frames are left out of the tracebacks `check` reads."""


def load_public(assignment: str) -> dict:
    """The public cases of `assignment`: those its checker cell registered, else the course folder's.

    Raises:
        ValueError: no checker cell has run and no `notebooks/<assignment>.ipynb` carries them.
    """
    if assignment not in _LOADED:
        data = find_public(assignment)
        if data is None:
            known = sorted(_LOADED)
            raise ValueError(
                f"No public cases for assignment {assignment!r} (known assignments: {known}): run the "
                f"notebook's `check = checker({assignment!r}, cases=...)` cell, or `autograder assign "
                f"{assignment}` in the course folder.")
        _LOADED[assignment] = data
    return _LOADED[assignment]


def register(assignment: str, cases: str | dict) -> dict:
    """Makes `cases` (as `autograder assign` encodes them, or plain) the public cases of `assignment`.

    Raises:
        ValueError: damaged cases, or cases of another assignment.
    """
    data = decode(cases) if isinstance(cases, str) else cases
    if data.get("assignment") != assignment:
        raise ValueError(f"these public cases are {data.get('assignment')!r}'s, not {assignment!r}'s")
    _LOADED[assignment] = data
    return data


@dataclass
class CheckReport:
    """What `check` found; prints as text and renders in notebooks."""

    exercise: str
    lines: list[str] = field(default_factory=list)
    passed: int = 0
    total: int = 0
    hidden_cases: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total

    def __str__(self) -> str:
        head = f"{'✅' if self.ok else '❌'} {self.exercise}: {self.passed}/{self.total} public cases passed"
        tail = (
            f"Hidden cases also count toward your grade ({self.hidden_cases} more for this exercise): "
            "passing the public ones is necessary, not sufficient."
            if self.hidden_cases
            else "There are no hidden cases for this exercise."
        )
        return "\n".join([head, *self.lines, tail])

    def __repr__(self) -> str:
        return str(self)

    def _ipython_display_(self) -> None:
        """Already printed by `check`; shows nothing more as a cell's value."""


def check(exercise: str, assignment: str, namespace: dict | None = None, quiet: bool = False) -> CheckReport:
    """Runs the public cases of `exercise` on the student's function.

    Args:
        exercise: the exercise's name (the function's name).
        assignment: the assignment id, e.g. "A2".
        namespace: where the function is defined; by default the caller's globals.
        quiet: return the report without printing it.
    """
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
    public = load_public(assignment)
    spec = public["exercises"].get(exercise)
    if spec is None:
        raise ValueError(f"{assignment} has no exercise {exercise!r}; it has {sorted(public['exercises'])}.")
    report = CheckReport(exercise, hidden_cases=int(spec.get("hidden_cases", 0)))
    start = time.perf_counter()
    rules = Rules.from_plain(spec.get("rules"))
    broken = broken_rule(exercise, rules, namespace)
    others = {name: other["rules"] for name, other in public["exercises"].items() if other.get("rules")}
    outcomes: list[tuple[str, bool, str]] = []
    for case in spec["cases"]:
        rule = Case(case["name"], make_args=lambda rng: [], rtol=case["rtol"], atol=case["atol"], hint=case.get("hint", ""))
        if broken:
            outcomes.append((case["name"], False, broken))
            continue
        before = tf_state.snapshot()
        try:
            call = case["call"]
            if call.get("graph"):
                actual = graph_case(namespace, exercise, call, others)
            else:
                actual = call_watched(namespace, str(call.get("function", exercise)), exercise, call.get("rules"),
                                      lambda: run_call(namespace, call), others)  # noqa: B023 - called at once
            actual = json.loads(json.dumps(actual))  # the same plain round trip as the grader's
            passed, message = compare_call(rule, case["expected"], actual)
        except RuleBroken as exc:  # costs the whole exercise, as in the grader
            broken = str(exc)
            passed, message = False, broken
        except GraphTraceFailure as exc:  # costs this case, in the grader's words
            passed, message = False, clean(str(exc))
        except Exception as exc:  # the student's error, reported like the grader does
            passed, message = False, explain_error(
                ErrorInfo(type(exc).__name__, str(exc), student_traceback(exc, _LIBRARY),
                          line=student_line(exc, namespace.get(exercise))), exercise,
                None, str(spec.get("convention", "")))
        finally:  # as the grader does after every call (also when the student stops a trace halfway)
            tf_state.restore(before)
        outcomes.append((case["name"], passed, message))
    if broken:
        outcomes = [(name, False, broken) for name, _, _ in outcomes]
    failed: dict[str, list[str]] = {}  # one line per message, with the cases it covers
    for name, passed, message in outcomes:
        report.total += 1
        report.passed += passed
        if passed:
            report.lines.append(f"  ✓ {name}")
        else:
            failed.setdefault(message, []).append(name)
    for message, names in failed.items():
        label = names[0] if len(names) == 1 else f"{len(names)} cases ({', '.join(names)})"
        report.lines.append(f"  ✗ {label}: {message}")
    report.seconds = time.perf_counter() - start
    if not quiet:
        print(report)
    return report


def graph_case(namespace: dict, exercise: str, call: dict, others: dict | None = None) -> dict:
    """One case of a graph-ruled exercise, as the grader runs it: traced here (under the rules' watch), its
    graph's ops judged, and its outputs taken from running that graph (`autograder.grading.graphs`).

    Raises:
        RuleBroken: the graph breaks the exercise's graph rule, or holds an op the grader will not run.
        GraphTraceFailure: the function could not be traced.
    """
    traced = call_watched(namespace, str(call.get("function", exercise)), exercise, call.get("rules"),
                          lambda: trace_case(namespace, trace_call(call)), others)
    traced = json.loads(json.dumps(traced))
    try:
        out = run_graph({}, clean_call(call, traced))
    except UnsafeGraph as exc:
        raise RuleBroken(str(exc)) from None
    problem = graph_problem(GraphRule.from_plain(call.get("graph")), exercise, out["ops"], out["names"])
    if problem:
        raise RuleBroken(problem)
    return {k: v for k, v in out.items() if k in ("value", "grads")}


def cell_source(exercise: str, namespace: dict) -> str:
    """The student's cell for `exercise`: the last one run in IPython, else the function's own source."""
    history = namespace.get("In")
    if isinstance(history, list):
        for text in reversed(history):
            if isinstance(text, str) and GRADED.match(first_line(text) or "") and \
                    GRADED.match(first_line(text)).group(1) == exercise:
                return text
    fn = namespace.get(exercise)
    try:
        return inspect.getsource(fn) if fn is not None else ""
    except (OSError, TypeError):
        return ""


def broken_rule(exercise: str, rules: Rules, namespace: dict) -> str:
    """The grader's message for a rule the student's cell breaks on its syntax tree, or ""."""
    if not rules:
        return ""
    aliases = {name: value.__name__ for name, value in namespace.items()
               if isinstance(value, types.ModuleType) and not name.startswith("_")}
    source = cell_source(exercise, namespace)
    if not source:  # no source to read (code run by exec): the run-time watch still applies
        return ""
    violations = static_violations(source, exercise, rules, (), aliases)
    return violation_message(exercise, rules, violations) if violations else ""


def checker(assignment: str, cases: str | dict | None = None) -> Callable[..., CheckReport]:
    """`check = checker("A2", cases=...)`, then `check("rnn_step")` in the notebook.

    Args:
        assignment: the assignment id.
        cases: the public cases `autograder assign` wrote into the cell; without
            them, the course folder's `notebooks/<assignment>.ipynb` is read
            (a reference notebook run by the instructor).
    """
    if cases is not None:
        register(assignment, cases)
    else:
        load_public(assignment)  # fail early, saying where the cases come from

    def check_exercise(exercise: str, namespace: dict | None = None) -> CheckReport:
        if namespace is None:
            namespace = inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
        return check(exercise, assignment, namespace, quiet=False)

    return check_exercise

