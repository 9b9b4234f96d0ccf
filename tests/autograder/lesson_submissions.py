"""Submissions made from a lesson's reference notebook with some graded cells replaced.

The rule tests of every lesson build their submissions this way, grade them all
in one run of the real grader, and ask the same questions of the results: did
a shortcut cost its exercise every case, with the rule's words, and nothing
else; did an honest variant keep full marks; does `check` in a student's kernel
say what the grader says.
"""

from __future__ import annotations

import linecache
from pathlib import Path

import nbformat

from autograder.authoring.student import load_assignment
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.grading.locate import GRADED, first_line
from autograder.grading.tf_errors import INTERNAL_MARKS
from autograder.run import Limits

ROOT = Path(__file__).resolve().parents[2]


def solution(lesson: str) -> Path:
    return ROOT / "solutions" / f"{lesson}.ipynb"


def with_cells(lesson: str, cells: dict[str, str]) -> nbformat.NotebookNode:
    """The reference notebook of `lesson` with the graded cells named in `cells` replaced."""
    nb = nbformat.read(solution(lesson), as_version=4)
    left = dict(cells)
    for cell in nb.cells:
        match = GRADED.match(first_line(cell.source) or "") if cell.cell_type == "code" else None
        if match and match.group(1) in left:
            cell.source = left.pop(match.group(1))
    assert not left, f"{lesson} has no graded cell for {sorted(left)}"
    return nb


def grade_submissions(submissions: dict[str, tuple[str, dict[str, str]]], sandbox, folder: Path) -> dict:
    """Grades every submission (name -> (lesson, replaced cells)) in one run; results by name."""
    paths = []
    for name, (lesson, cells) in submissions.items():
        nbformat.write(with_cells(lesson, cells), folder / f"{name}.ipynb")
        paths.append(folder / f"{name}.ipynb")
    grader = Grader(GradeConfig(ROOT / "solutions", None, 2, Limits()))
    results = {r.submission: r for r in grader.grade(paths, sandbox)}
    shown = [c.message for r in results.values() for e in r.exercises for c in e.cases]
    leaks = [m for m in shown if any(mark in m for mark in INTERNAL_MARKS)]
    assert not leaks, f"TensorFlow's internals reach a student: {leaks[:2]}"  # every lesson's submissions
    return results


def exercise(result, name: str):
    return next(e for e in result.exercises if e.name == name)


def rule_text(lesson: str, name: str) -> str:
    return load_assignment(solution(lesson)).exercise(name).rules.describe(name)


def assert_rule_broken(result, lesson: str, target: str, words: str) -> None:
    """`target` scored 0, every case quoting its rule and `words`; every other exercise full marks."""
    broken = exercise(result, target)
    assert broken.max_points > 0 and broken.points == 0, broken.message
    text = rule_text(lesson, target)
    for case in broken.cases:
        assert text in case.message and words in case.message, case.message
    assert_others_full(result, target)


def assert_others_full(result, target: str) -> None:
    others = [e for e in result.exercises if e.name != target]
    assert all(e.points == e.max_points for e in others), [(e.name, e.message) for e in others]


def assert_full_marks(result) -> None:
    assert result.points == result.max_points > 0, [(e.name, e.message) for e in result.exercises]


def kernel_with(lesson: str, name: str, cell: str) -> dict:
    """A student's kernel: the set-up cells, the cells exercise `name` needs, then `cell`, as IPython runs them."""
    assignment = load_assignment(solution(lesson))
    ns: dict = {"__name__": "__main__", "In": ["", *assignment.setup, cell]}
    for i, code in enumerate(assignment.setup + [assignment.cells[n] for n in assignment.exercise(name).needs] + [cell]):
        filename = f"<ipython-input-{i + 1}-{abs(hash(code)) % 10**12:012x}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # as IPython does
        exec(compile(code, filename, "exec"), ns)
    return ns


def assert_rules_stated(lesson: str, name: str) -> None:
    """The student copy states exercise `name`'s rules in its markdown and its docstring, and leaves a stub."""
    student = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    index = next(i for i, c in enumerate(student.cells)
                 if c.cell_type == "code" and first_line(c.source) == f"# GRADED: {name}")
    assert "\n    Rules: " in student.cells[index].source, f"{name}: no 'Rules:' line in its docstring"
    assert "raise NotImplementedError" in student.cells[index].source, f"{name}: no stub in the student copy"
    before = next(c.source for c in reversed(student.cells[:index]) if c.cell_type == "markdown")
    assert "**Rules** (checked by `check` and by the grader)" in before, f"{name}: rules not in its markdown"
