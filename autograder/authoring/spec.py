"""What an assignment's graded exercises and test cases are.

An assignment's cases are written in its reference notebook, in a cell whose
first line is `# CASES` (dropped from the student copy). That cell defines
`EXERCISES`, a list of `Exercise`; it may import numpy and this module only,
because it runs in the grading process, which never imports TensorFlow.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field, replace
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from autograder.rules.graph import GraphRule
from autograder.rules.static import Rules

ArgsMaker = Callable[[np.random.Generator], Any]


@dataclass(frozen=True)
class Case:
    """One test of one exercise.

    Args:
        name: short label shown to students (for a hidden case, only this).
        make_args: `rng -> args`: a list/tuple of positional arguments or a
            dict of keyword arguments, built with numpy from the seeded `rng`.
        points: what passing this case is worth.
        hidden: hidden cases count toward the grade but never show inputs,
            expected values or the student's values.
        rtol, atol: tolerances for floating-point comparison.
        tensors: pass float/int arrays to the student's function as tf tensors.
        grad_wrt: the positional arguments to differentiate a fixed weighted
            sum of the outputs against (gradients compared too), by name as
            in the reference's signature (`("x", "W_h")`) or by position.
        probe: which probe runs the case in the student's process: `"call"`,
            `"model"`, or `"package.module:function"` (see `autograder.run.probes.call`).
        hint: advice shown when the case fails.
        symbolic: the axes whose size is hidden, per positional argument: the
            function then runs inside `tf.function` with an input signature
            where those sizes are None, so code that needs concrete sizes in
            Python fails. By name, `{"x": (0, 1), "h0": (0,)}` (x's batch and
            time, h0's batch), or by position, `((0, 1), (0,))`.
    """

    name: str
    make_args: ArgsMaker
    points: float = 1.0
    hidden: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6
    tensors: bool = True
    grad_wrt: tuple[int | str, ...] = ()
    probe: str = "call"
    hint: str = ""
    symbolic: tuple[tuple[int, ...], ...] | Mapping[str, tuple[int, ...]] = ()

    def __post_init__(self) -> None:
        if self.points < 0:
            raise ValueError(f"Case {self.name!r}: points must be >= 0; got {self.points}.")
        if not callable(self.make_args):
            raise TypeError(f"Case {self.name!r}: make_args must be callable rng -> args.")
        if isinstance(self.grad_wrt, (str, int)):
            raise TypeError(f"Case {self.name!r}: grad_wrt must be a tuple of argument names or positions; "
                            f"got {self.grad_wrt!r} (write ({self.grad_wrt!r},)).")
        if isinstance(self.symbolic, Mapping):  # stored as sorted pairs, so that the case stays hashable
            object.__setattr__(self, "symbolic", tuple(sorted((str(k), tuple(v)) for k, v in self.symbolic.items())))

    @property
    def by_name(self) -> bool:
        """Whether `grad_wrt` or `symbolic` names arguments (resolved by `with_positions`)."""
        return any(isinstance(i, str) for i in self.grad_wrt) or _named_axes(self.symbolic)

    def with_positions(self, params: list[str]) -> "Case":
        """The same case with argument names in `grad_wrt` and `symbolic` turned into positions.

        Args:
            params: the positional parameters of the reference's function, in order.

        Raises:
            ValueError: a name is not one of `params`.
        """

        def position(key: int | str) -> int:
            if not isinstance(key, str):
                return int(key)
            if key not in params:
                raise ValueError(f"Case {self.name!r}: the function has no positional argument {key!r}; "
                                 f"its arguments are {params}.")
            return params.index(key)

        symbolic = self.symbolic
        if _named_axes(symbolic):
            axes = {position(name): tuple(a) for name, a in symbolic}
            symbolic = tuple(axes.get(i, ()) for i in range(max(axes) + 1))
        return replace(self, grad_wrt=tuple(position(k) for k in self.grad_wrt), symbolic=symbolic)


def _named_axes(symbolic: Any) -> bool:
    """Whether `symbolic` is in its by-name form (pairs of a name and axes)."""
    return bool(symbolic) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in symbolic)


def positional_params(source: str, function: str) -> list[str]:
    """The positional parameter names of `def function(...)` in a cell's source (read, never run).

    Raises:
        ValueError: the source defines no such function, or does not parse.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"the cell of `{function}` does not parse: {exc}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return [a.arg for a in node.args.posonlyargs + node.args.args]
    raise ValueError(f"the cell of `{function}` defines no function `{function}`")


def with_positions(exercise: "Exercise", source: str) -> "Exercise":
    """The exercise with its cases' argument names resolved against the reference's signature.

    Args:
        exercise: as the `# CASES` cell wrote it.
        source: the reference's graded cell, which defines the function.
    """
    named_graph = any(isinstance(key, str) for key, _ in exercise.graph.unknown)
    if not any(c.by_name for c in exercise.cases) and not named_graph:
        return exercise
    params = positional_params(source, exercise.name)
    return replace(exercise, cases=tuple(c.with_positions(params) if c.by_name else c for c in exercise.cases),
                   graph=exercise.graph.positions(params) if named_graph else exercise.graph)


MistakeChange = str | tuple[tuple[str, str], ...] | Callable[[str], str]


@dataclass(frozen=True)
class Mistake:
    """A known wrong version of an exercise, recognised by its outputs and named in the student's words.

    The variant runs beside the reference, in the reference's own process
    (never in a student's); its outputs are kept with the expected values.
    A student whose output on a case matches the variant's (within the case's
    tolerances), and not the reference's, is told `says` before anything else.

    Args:
        says: one sentence for the student: what went wrong and how to fix it.
        change: how the variant differs from the reference's graded cell: pairs
            `(old, new)` of text replaced in it (each `old` must occur), a
            function `source -> source`, or the variant's whole cell as text.
    """

    says: str
    change: MistakeChange

    def __post_init__(self) -> None:
        if not self.says.strip():
            raise ValueError("Mistake: `says` must be a sentence for the student.")
        if isinstance(self.change, list):
            object.__setattr__(self, "change", tuple(tuple(p) for p in self.change))
        if isinstance(self.change, tuple) and not all(
                isinstance(p, tuple) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in self.change):
            raise TypeError(f"Mistake {self.says!r}: change must be (old, new) pairs of text, a function or a cell.")

    def variant(self, reference: str) -> str:
        """The variant's cell, made from the reference's cell source.

        Raises:
            ValueError: a replaced text is not in the reference, or the variant is the reference itself.
        """
        if isinstance(self.change, str):
            source = self.change
        elif callable(self.change):
            source = str(self.change(reference))
        else:
            source = reference
            for old, new in self.change:
                if old not in source:
                    raise ValueError(f"Mistake {self.says!r}: {old!r} is not in the reference's cell.")
                source = source.replace(old, new)
        if source == reference:
            raise ValueError(f"Mistake {self.says!r}: the variant is the reference itself.")
        return source


@dataclass(frozen=True)
class Exercise:
    """A graded function the student writes, in a cell marked `# GRADED: <name>`.

    Args:
        name: the function's name, also the marker's.
        cases: its tests.
        needs: other exercises whose cells must run first (for example
            `rnn_forward` calling `rnn_step`).
        rules: what the cell must and must not call (see `autograder.rules.static`).
        worth: the exercise's points, shared among its cases in proportion to
            their `points` (their weights); by default the sum of the cases' points.
        mistakes: known wrong versions, named when a student's output matches one (see `Mistake`).
        convention: the shapes the exercise works in, in one phrase, quoted when a
            shape error is raised inside the student's function.
        graph: a rule on the TensorFlow graph the function builds (`autograder.rules.graph`): the
            grader traces the function, judges the graph's ops, and scores the outputs of that graph
            run in a job with no student code in it.
    """

    name: str
    cases: tuple[Case, ...]
    needs: tuple[str, ...] = ()
    rules: Rules = Rules()
    worth: float | None = None
    mistakes: tuple[Mistake, ...] = ()
    convention: str = ""
    graph: GraphRule = GraphRule()

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"Exercise name must be a Python identifier; got {self.name!r}.")
        names = [c.name for c in self.cases]
        if len(set(names)) != len(names):
            raise ValueError(f"Exercise {self.name!r} has two cases with the same name: {names}.")
        object.__setattr__(self, "mistakes", tuple(self.mistakes))
        if not all(isinstance(m, Mistake) for m in self.mistakes):
            raise TypeError(f"Exercise {self.name!r}: mistakes must be Mistake(...) entries.")

    @property
    def points(self) -> float:
        """What the whole exercise is worth."""
        return float(self.worth) if self.worth is not None else float(sum(c.points for c in self.cases))

    def case_points(self, case: Case) -> float:
        """What one case is worth: its share of the exercise's points."""
        if self.worth is None:
            return float(case.points)
        total = sum(c.points for c in self.cases)
        return float(self.worth) * case.points / total if total else 0.0


@dataclass(frozen=True)
class Leaderboard:
    """A leaderboard column that the grader measures itself (never a number the notebook reports).

    Args:
        name: the column's title on Gradescope's leaderboard.
        exercise, case: the case measured; a submission that fails it gets no entry.
        measure: "milliseconds", the case's run time in the sandbox (the only
            measure so far: it differs between correct solutions and cannot be
            claimed, only earned).
        order: "asc" when smaller is better.
    """

    name: str
    exercise: str
    case: str
    measure: str = "milliseconds"
    order: str = "asc"

    def __post_init__(self) -> None:
        if self.measure != "milliseconds":
            raise ValueError(f"Leaderboard {self.name!r}: measure must be 'milliseconds'; got {self.measure!r}.")
        if self.order not in ("asc", "desc"):
            raise ValueError(f"Leaderboard {self.name!r}: order must be 'asc' or 'desc'; got {self.order!r}.")


@dataclass
class Assignment:
    """An assignment as read from its reference notebook."""

    id: str
    exercises: list[Exercise]
    setup: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # exercise -> reference cell source
    leaderboard: list[Leaderboard] = field(default_factory=list)

    def exercise(self, name: str) -> Exercise:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(f"Assignment {self.id} has no exercise {name!r}; it has {[e.name for e in self.exercises]}.")

    @property
    def points(self) -> float:
        return float(sum(e.points for e in self.exercises))


def case_seed(assignment_id: str, exercise: str, case: str) -> int:
    """A stable seed per case, so inputs are the same on every machine and run."""
    digest = hashlib.sha256(f"{assignment_id}/{exercise}/{case}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def case_args(assignment_id: str, exercise: Exercise, case: Case) -> Any:
    """The concrete arguments of one case (numpy arrays and plain values)."""
    rng = np.random.default_rng(case_seed(assignment_id, exercise.name, case.name))
    args = case.make_args(rng)
    if not isinstance(args, (list, tuple, dict)):
        raise TypeError(
            f"Case {exercise.name}/{case.name}: make_args must return a list, tuple or dict; got {type(args).__name__}."
        )
    return args


def call_spec(assignment_id: str, exercise: Exercise, case: Case) -> dict:
    """The plain-data description of a case that the student's process runs."""
    from autograder.run.plain import to_plain

    if case.by_name:
        raise ValueError(f"Case {exercise.name}/{case.name}: argument names in grad_wrt or symbolic are resolved "
                         "when the assignment is loaded (`with_positions`); got an unresolved case.")
    args = case_args(assignment_id, exercise, case)
    positional, keywords = (list(args), {}) if not isinstance(args, dict) else ([], args)
    return {
        "exercise": exercise.name,
        "case": case.name,
        "function": exercise.name,
        "probe": case.probe,
        "args": [to_plain(a) for a in positional],
        "kwargs": {k: to_plain(v) for k, v in keywords.items()},
        "tensors": case.tensors,
        "grad_wrt": list(case.grad_wrt),
        "seed": case_seed(assignment_id, exercise.name, case.name),
        "symbolic": [list(axes) for axes in case.symbolic],
        "rules": exercise.rules.to_plain() if exercise.rules else None,
        **({"graph": exercise.graph.to_plain()} if exercise.graph else {}),
    }
