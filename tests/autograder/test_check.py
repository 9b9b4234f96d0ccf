"""The student's `check`: fast, in-process, and in agreement with the grader on public cases."""

import time
from pathlib import Path

import pytest

from autograder.authoring.student import load_assignment, strip_solutions
from autograder.check import check, checker, load_public
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.grading.locate import locate, read_notebook
from autograder.run import Limits

ROOT = Path(__file__).resolve().parents[2]
A2 = load_assignment(ROOT / "solutions" / "A2.ipynb")


def namespace_with(cells: dict[str, str]) -> dict:
    """A kernel-like namespace: the setup cell, then the given graded cells."""
    ns: dict = {"__name__": "__main__"}
    for code in A2.setup + [cells[e.name] for e in A2.exercises if e.name in cells]:
        exec(code, ns)
    return ns


def test_reference_passes_every_public_case_quickly():
    ns = namespace_with(A2.cells)
    for ex in A2.exercises:
        check(ex.name, "A2", ns, quiet=True)  # warm-up: TensorFlow's first ops
    start = time.perf_counter()
    reports = [check(ex.name, "A2", ns, quiet=True) for ex in A2.exercises]
    per_exercise = (time.perf_counter() - start) / len(reports)
    assert all(r.ok for r in reports), [str(r) for r in reports if not r.ok]
    assert per_exercise < 0.5


def test_blank_copy_says_not_implemented_and_mentions_hidden_cases(capsys):
    ns = namespace_with({n: strip_solutions(c) for n, c in A2.cells.items()})
    report = checker("A2")("rnn_step", ns)
    printed = capsys.readouterr().out
    assert not report.ok and report.passed == 0
    assert "not implemented yet" in printed
    assert "Hidden cases also count toward your grade" in printed


def test_check_uses_the_callers_globals():
    ns = namespace_with(A2.cells)
    ns["check"] = checker("A2")
    exec("report = check('rnn_step')", ns)
    assert ns["report"].ok


def test_unknown_names_are_explained():
    with pytest.raises(ValueError, match="known assignments"):
        load_public("Z9")
    with pytest.raises(ValueError, match="has no exercise"):
        check("rnn_stepp", "A2", {})


def test_check_and_grader_agree_on_public_cases(roomy_sandbox):
    path = ROOT / "examples" / "submissions" / "partial.ipynb"
    located = locate(read_notebook(path), [e.name for e in A2.exercises])
    ns = namespace_with(located.cells)
    config = GradeConfig(ROOT / "solutions", "A2", 1, Limits())
    graded = Grader(config).grade([path], roomy_sandbox)[0]
    for ex in graded.exercises:
        report = check(ex.name, "A2", ns, quiet=True)
        public = [c for c in ex.cases if not c.hidden]
        assert report.passed == sum(c.passed for c in public), ex.name
        assert report.total == len(public)


def checker_cell(assignment: str) -> str:
    """The checker cell of the committed student notebook."""
    from autograder.authoring.public import is_checker_cell

    nb = read_notebook(ROOT / "notebooks" / f"{assignment}.ipynb")
    return next(c.source for c in nb.cells if c.cell_type == "code" and is_checker_cell(c.source))


def test_the_released_notebook_carries_its_cases(tmp_path, monkeypatch):
    """Colab: no notebook on disk, no course folder, only the installed package and the cell."""
    import autograder.check as check_module

    monkeypatch.setattr(check_module, "_LOADED", {})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="No public cases for assignment 'A2'"):
        load_public("A2")  # nothing to find here: the cell alone must carry them
    ns = namespace_with(A2.cells)
    exec(checker_cell("A2"), ns)
    reports = [ns["check"](ex.name, ns) for ex in A2.exercises]
    assert all(r.ok and r.total > 0 for r in reports), [str(r) for r in reports]


def test_the_checker_cell_is_folded_and_titled():
    from autograder.authoring.public import TITLE

    nb = read_notebook(ROOT / "notebooks" / "A2.ipynb")
    cell = next(c for c in nb.cells if c.source.startswith(TITLE))
    assert cell.metadata["jupyter"]["source_hidden"] and cell.metadata["cellView"] == "form"


def test_damaged_or_foreign_cases_are_refused():
    from autograder.authoring.public import encode
    from autograder.check import register

    with pytest.raises(ValueError, match="damaged"):
        register("A2", "not-base64!")
    with pytest.raises(ValueError, match="not 'A2'"):
        register("A2", encode({"assignment": "A3", "exercises": {}}))


def test_a_reference_run_in_the_course_folder_finds_the_student_notebooks_cases(monkeypatch):
    import autograder.check as check_module

    monkeypatch.setattr(check_module, "_LOADED", {})
    monkeypatch.chdir(ROOT / "solutions")  # where a reference notebook's kernel starts
    assert set(load_public("A2")["exercises"]) == {e.name for e in A2.exercises}


def test_release_refuses_a_notebook_that_carries_no_cases(tmp_path):
    import nbformat

    from autograder.authoring.assign import release

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('from autograder.check import checker\n\ncheck = checker("A2")')]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "A2.ipynb")
    with pytest.raises(ValueError, match="carries no public cases"):
        release(tmp_path / "bundle", tmp_path / "notebooks")
    assert not (tmp_path / "bundle").exists()
