"""A gradebook an instructor can trust: sorted rows, a run history, missing students, kept Canvas columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import autograder.cli as cli
from autograder.grading.submissions import layout_assignment, layout_assignments
from autograder.reports.export import MISSING, export, missing_students
from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
from autograder.reports.writer import ReportWriter


def graded(key: str, points: float, assignment: str = "A2") -> SubmissionResult:
    return SubmissionResult(key, assignment, [ExerciseResult("rnn_step", [CaseResult("c", False, points, 3,
                                                                                      points == 3)])])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_are_sorted_by_student_whatever_the_finishing_order(tmp_path):
    writer = ReportWriter(tmp_path)
    for key in ("zoe", "Bea", "al"):
        writer.add(graded(key, 1))
    assert [r["submission"] for r in rows(writer.finish())] == ["al", "Bea", "zoe"]


def test_each_run_is_appended_to_the_history(tmp_path):
    ReportWriter(tmp_path, {"started": "first", "submissions": 30}).finish()
    ReportWriter(tmp_path, {"started": "regrade", "submissions": 1}).finish()
    history = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [h["started"] for h in history] == ["first", "regrade"]
    assert json.loads((tmp_path / "run.json").read_text())["started"] == "regrade"


def test_a_roster_student_without_a_submission_gets_zero_and_missing(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("file,student,canvas_id\nal.ipynb,al,11\nbo.ipynb,bo,12\n")
    writer = ReportWriter(tmp_path / "out")
    writer.add(graded("al", 3))
    assert missing_students(roster, {"al"}) == ["bo"]
    writer.add_missing(["bo"], "A2", 3, MISSING)
    book = {r["submission"]: r for r in rows(writer.finish())}
    assert book["bo"]["total"] == "0" and book["bo"]["max"] == "3" and book["bo"]["problem"] == MISSING
    canvas = (export(tmp_path / "out", ["canvas"], roster)[0]).read_text().splitlines()
    assert canvas[-1].split(",")[1:2] == ["12"] and canvas[-1].endswith(",0")


def test_a_roster_student_absent_from_an_old_gradebook_still_gets_zero_in_canvas(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nal\ncy\n")
    ReportWriter(tmp_path / "out").add(graded("al", 2))
    lines = export(tmp_path / "out", ["canvas"], roster)[0].read_text().splitlines()
    assert [line.split(",")[0] for line in lines[2:]] == ["al", "cy"] and lines[-1].endswith(",0")


def test_the_canvas_column_is_kept_across_regrades(tmp_path):
    ReportWriter(tmp_path).add(graded("al", 2))
    export(tmp_path, ["canvas"], None, {"A2": "A2: vanilla RNN (1234)"})
    (tmp_path / "canvas.csv").unlink()
    export(tmp_path, ["canvas"], None, {})  # the regrade, as the README shows it: no --canvas-column
    assert (tmp_path / "canvas.csv").read_text().splitlines()[0].endswith(",A2: vanilla RNN (1234)")
    (tmp_path / "lms.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="damaged"):
        export(tmp_path, ["canvas"], None, {})


def test_the_nbgrader_layout_names_the_assignment(tmp_path):
    paths = [tmp_path / "submitted" / s / "A2" / "A2.ipynb" for s in ("al", "bo")]
    assert layout_assignment(paths[0]) == "A2"
    assert layout_assignment(tmp_path / "al" / "A2.ipynb") is None
    assert layout_assignments(paths, {"A1", "A2"}) == "A2"
    assert layout_assignments(paths, {"A1"}) is None
    assert layout_assignments(paths + [tmp_path / "submitted" / "cy" / "A3" / "x.ipynb"], {"A2", "A3"}) is None


class Stop(RuntimeError):
    pass


def test_grade_says_what_it_prepares_and_takes_the_assignment_from_the_layout(tmp_path, tiny_solutions, monkeypatch,
                                                                             capsys):
    seen = {}

    def session(config, paths, **kwargs):
        seen["assignment"], seen["paths"] = config.assignment, paths
        raise Stop("stopped before the warm-up")

    import autograder.grading.driver as driver

    monkeypatch.setattr(driver, "GradingSession", session)
    files = [tmp_path / "submitted" / s / "T1" / "T1.ipynb" for s in ("al", "bo")]
    for path in files:
        path.parent.mkdir(parents=True)
        path.write_text("not json")
    code = cli.main(["grade", *map(str, files), "--out", str(tmp_path / "out"), "--solutions", str(tiny_solutions)])
    err = capsys.readouterr().err
    assert code == 2 and seen["assignment"] == "T1" and len(seen["paths"]) == 2
    assert err.splitlines()[0].startswith("preparing the sandbox for 2 submissions")


def test_an_unreadable_file_in_the_nbgrader_layout_scores_zero_of_the_assignments_points(tmp_path, tiny_solutions,
                                                                                          sandbox):
    from autograder.grading.pipeline import GradeConfig, Grader
    from autograder.run import Limits

    path = tmp_path / "submitted" / "al" / "T1" / "T1.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text("this is not a notebook")
    assignment = layout_assignments([path], {"T1"})
    config = GradeConfig(tiny_solutions, assignment, 1, Limits(timeout_s=8, memory_mb=400, cpu_s=20))
    (result,) = Grader(config).grade([path], sandbox)
    assert result.submission == "al" and result.assignment == "T1"
    assert result.points == 0 and result.max_points == 6 and result.problem
