"""Gradebook rows keyed by student, from the class folder's layout or a roster; a regrade keeps the others."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.student import strip_solutions
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.reports.writer import ReportWriter
from autograder.grading.submissions import RosterError, student_keys
from autograder.run import Limits
from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def test_keys_from_a_flat_folder_a_folder_per_student_and_nbgrader(tmp_path):
    flat = [touch(tmp_path / "flat" / f"{s}.ipynb") for s in ("ana", "bo")]
    assert student_keys(flat) == ["ana", "bo"]
    nested = [touch(tmp_path / "nested" / s / "A2.ipynb") for s in ("s001", "s002")]
    assert student_keys(nested) == ["s001", "s002"]
    nbg = [touch(tmp_path / "course" / "submitted" / s / "A2" / "A2.ipynb") for s in ("kim", "lee")]
    assert student_keys(nbg, root=tmp_path / "course") == ["kim", "lee"]
    twice = [touch(tmp_path / "twice" / "s001" / "A2.ipynb"), touch(tmp_path / "twice" / "s001" / "A2 (1).ipynb")]
    assert student_keys(twice, root=tmp_path / "twice") == ["s001", "s001/A2 (1)"]  # two files never share a row
    assert student_keys(nested[1:], assignments={"A2"}) == ["s002"]  # one student's file, regraded alone


def test_a_roster_names_the_rows(tmp_path):
    files = [touch(tmp_path / "in" / f"upload_{i}.ipynb") for i in range(3)]
    roster = tmp_path / "roster.csv"
    roster.write_text("File,Student\nin/upload_0.ipynb,ana@uni\nin/upload_2.ipynb,cy@uni\n")
    assert student_keys(files, roster=roster) == ["ana@uni", "upload_1", "cy@uni"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,grade\nx,1\n")
    with pytest.raises(RosterError, match="needs a column"):
        student_keys(files, roster=bad)


def rows(out: Path) -> dict[str, dict]:
    return {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}


def test_a_nested_class_gets_one_row_per_student_and_a_regrade_keeps_the_others(tiny_solutions, sandbox, tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    answers = {"s001": (ADD_ONE, SCALED_SUM), "s002": (strip_solutions(ADD_ONE), SCALED_SUM),
               "s003": (ADD_ONE, strip_solutions(SCALED_SUM))}
    paths = []
    for student, cells in answers.items():
        (klass / student).mkdir(parents=True)
        nbformat.write(notebook(SETUP, *cells), klass / student / "T1.ipynb")
        paths.append(klass / student / "T1.ipynb")
    grader = Grader(GradeConfig(tiny_solutions, "T1", 2, Limits(timeout_s=20)), deny_paths=[str(out)])
    writer = ReportWriter(out)
    grader.grade(paths, sandbox, on_result=writer.add)
    writer.finish()
    first = rows(out)
    assert sorted(first) == ["s001", "s002", "s003"]
    assert [first[s]["total"] for s in ("s001", "s002", "s003")] == ["6", "0", "4"]
    assert (out / "s002" / "feedback.md").is_file()

    # s002 hands in a fixed notebook; only s002 is regraded into the same folder
    nbformat.write(notebook(SETUP, ADD_ONE, SCALED_SUM), klass / "s002" / "T1.ipynb")
    writer = ReportWriter(out)
    grader.grade([klass / "s002" / "T1.ipynb"], sandbox, on_result=writer.add)
    writer.finish()
    second = rows(out)
    assert sorted(second) == ["s001", "s002", "s003"]
    assert second["s002"]["total"] == "6" and second["s001"] == first["s001"] and second["s003"] == first["s003"]
    assert "Score: 6 / 6" in (out / "s002" / "feedback.md").read_text()
