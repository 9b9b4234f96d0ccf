"""`autograder new`: a starter reference that assigns, checks and grades full marks as written."""

from __future__ import annotations

import pytest

from autograder.authoring.assign import compute_public
from autograder.authoring.public import is_checker_cell
from autograder.authoring.starter import starter_notebook
from autograder.authoring.student import load_assignment, student_notebook, write_notebook
from autograder.cli import main
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.run import Limits


def test_new_writes_a_reference_and_never_overwrites_one(tmp_path, capsys):
    assert main(["new", "T9", "--solutions", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    first = (tmp_path / "T9.ipynb").read_text()
    assert main(["new", "T9", "--solutions", str(tmp_path), "--title", "other"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "T9.ipynb").read_text() == first


@pytest.mark.parametrize("bad", ["9A", "A 8", "../A8", ""])
def test_a_bad_id_is_refused(tmp_path, capsys, bad):
    assert main(["new", bad, "--solutions", str(tmp_path)]) == 2
    assert "expected an assignment id" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_starter_assigns_checks_and_grades_full_marks(tmp_path, sandbox):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    assert main(["new", "T9", "--solutions", str(solutions)]) == 0
    assignment = load_assignment(solutions / "T9.ipynb")
    assert [e.name for e in assignment.exercises] == ["tanh_step"]
    ex = assignment.exercises[0]
    assert ex.points == 2 and [c.hidden for c in ex.cases] == [False, True]

    public = compute_public(assignment, sandbox)
    student = student_notebook(starter_notebook("T9"), public=public)
    write_notebook(student, notebooks / "T9.ipynb")
    text = (notebooks / "T9.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "# CASES" not in text and "B 5, D 2, H 3" not in text

    ns: dict = {"__name__": "__main__"}  # the student's kernel: the checker cell, then the graded cell
    exec(assignment.setup[0], ns)
    exec(next(c.source for c in student.cells if is_checker_cell(c.source)), ns)
    exec(assignment.cells["tanh_step"], ns)
    report = ns["check"]("tanh_step", ns)
    assert report.ok and report.total == 1 and report.hidden_cases == 1

    config = GradeConfig(solutions, None, 2, Limits(timeout_s=20, memory_mb=1024, cpu_s=40))
    results = {r.submission: r for r in Grader(config).grade([solutions / "T9.ipynb", notebooks / "T9.ipynb"],
                                                             sandbox)}
    full, blank = results["solutions"], results["notebooks"]  # keyed by their folders
    assert full.points == full.max_points == 2, full
    assert blank.points == 0 and blank.max_points == 2, blank
