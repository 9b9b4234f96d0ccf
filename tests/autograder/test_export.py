"""Exports for an LMS: Canvas' gradebook import, written from the run's gradebook."""

import csv
import io
import subprocess
import sys

import pytest

from autograder.reports.export import CANVAS_COLUMNS, POINTS_POSSIBLE, canvas_csv, export
from autograder.reports.writer import write_reports
from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult


def graded(key: str, points: float, assignment: str = "A2") -> SubmissionResult:
    return SubmissionResult(key, assignment, [ExerciseResult("rnn_step", [
        CaseResult("a", False, points, 4.0, points == 4.0), CaseResult("b", True, 0.0, 2.0, False)])])


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_file_has_canvas_columns_points_possible_and_one_row_per_student(tmp_path):
    write_reports([graded("s001", 4.0), graded("s002", 1.5), graded("=HYPERLINK(1)", 0.0)], tmp_path)
    (path,) = export(tmp_path, ["canvas"])
    rows = rows_of(path.read_text())
    assert rows[0] == [*CANVAS_COLUMNS, "A2"]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "6"]
    by_key = {row[2]: row for row in rows[2:]}
    assert by_key["s001"][-1] == "4" and by_key["s002"][-1] == "1.5"
    assert "'=HYPERLINK(1)" in by_key and by_key["'=HYPERLINK(1)"][0] == "'=HYPERLINK(1)"
    assert len(rows) == 5


def test_a_roster_gives_canvas_names_ids_and_sections(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("file,student,name,canvas_id,sis_login_id,section\n"
                      "s001/A2.ipynb,s001,\"Lovelace, Ada\",101,ada,Lab 1\n")
    write_reports([graded("s001", 4.0), graded("s002", 2.0)], tmp_path / "out")
    (path,) = export(tmp_path / "out", ["canvas"], roster=roster, columns={"A2": "A2 vanilla RNN (5531)"})
    rows = rows_of(path.read_text())
    assert rows[0][-1] == "A2 vanilla RNN (5531)"
    assert rows[2] == ["Lovelace, Ada", "101", "", "ada", "Lab 1", "4"]
    assert rows[3] == ["s002", "", "s002", "", "", "2"]


def test_several_assignments_become_columns_and_a_missing_one_stays_blank():
    rows = [{"submission": "s1", "assignment": "A1", "total": "3", "max": "10"},
            {"submission": "s1", "assignment": "A2", "total": "20", "max": "21"},
            {"submission": "s2", "assignment": "A2", "total": "7", "max": "21"}]
    table = rows_of(canvas_csv(rows))
    assert table[0][-2:] == ["A1", "A2"] and table[1][-2:] == ["10", "21"]
    assert table[2][-2:] == ["3", "20"] and table[3][-2:] == ["", "7"]


def test_bad_requests_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match="csv or canvas"):
        export(tmp_path, ["moodle"])
    with pytest.raises(ValueError, match="cannot read the gradebook"):
        export(tmp_path, ["canvas"])
    (tmp_path / "gradebook.csv").write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="not a gradebook"):
        export(tmp_path, ["canvas"])


def test_the_export_command_writes_canvas_csv_from_an_earlier_run(tmp_path):
    write_reports([graded("s001", 4.0)], tmp_path)
    cli = [sys.executable, "-m", "autograder.cli", "export", str(tmp_path)]
    done = subprocess.run([*cli, "--canvas-column", "A2=A2 (77)"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert rows_of((tmp_path / "canvas.csv").read_text())[0][-1] == "A2 (77)"
    bad = subprocess.run([*cli, "--canvas-column", "A2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "ASSIGNMENT=HEADER" in bad.stderr
