"""A second run for failures the machine caused, never for the submission's own (a scripted runner)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook
from autograder.grading.retry import retry_reason
from autograder.run import CallResult, ErrorInfo, RunResult, StepResult
from scripted_runner import ScriptedRunner, tiny_grader



def crashed() -> RunResult:
    return RunResult("crashed", "the process crashed (SIGABRT) while running check 1 of 5", {}, [None] * 5)


def add_one_timed_out() -> RunResult:
    """`add_one`'s three checks stopped at their step limit; `scaled_sum`'s two fine."""
    late = CallResult(False, None, ErrorInfo("StepTimeLimit", "stopped after 1 s", "", True), 1.0)
    fine = CallResult(True, {"value": 0.0}, None, 0.01)
    cells = {"add_one": StepResult(True), "scaled_sum": StepResult(True)}
    return RunResult("ok", "", cells, [late] * 3 + [fine] * 2)


@pytest.fixture()
def grader(tmp_path, monkeypatch):
    return tiny_grader(tmp_path / "solutions", monkeypatch, 0.0)


def _write(tmp_path: Path, name: str, *cells: str) -> Path:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook(SETUP, *cells), path)
    return path


def test_a_crash_by_signal_runs_once_more_and_a_second_crash_is_reported(grader, tmp_path):
    path = _write(tmp_path, "aborts", ADD_ONE, SCALED_SUM)
    runner = ScriptedRunner({"aborts": [crashed(), crashed()]})
    result = grader.grade([path], runner)[0]
    assert runner.runs["aborts"] == 2
    assert "graded twice" in result.problem and "SIGABRT" in result.problem


def test_a_crash_then_a_clean_run_keeps_the_clean_run_silently(grader, tmp_path):
    path = _write(tmp_path, "flaky", ADD_ONE, SCALED_SUM)
    clean = RunResult("ok", "", {"add_one": StepResult(True), "scaled_sum": StepResult(True)}, [None] * 5)
    runner = ScriptedRunner({"flaky": [crashed(), clean]})
    result = grader.grade([path], runner)[0]
    assert runner.runs["flaky"] == 2 and "graded twice" not in result.problem and "crashed" not in result.problem


def test_the_submissions_own_failures_are_never_rerun(grader, tmp_path):
    path = _write(tmp_path, "slow_own", "# GRADED: add_one\ndef add_one(x):\n    while True:\n        pass\n",
                  SCALED_SUM)
    runner = ScriptedRunner({"slow_own": [add_one_timed_out()]})
    grader.grade([path], runner)
    assert runner.runs["slow_own"] == 1
    for status in ("timeout", "memory", "cpu", "protocol", "exited"):
        run = RunResult(status, "stopped", {}, [None] * 5)
        assert retry_reason(run, {"add_one": "x"}, {"add_one": "x"}, ["add_one"] * 5) is None


def test_reference_identical_code_that_ran_out_of_time_gets_a_second_run(grader, tmp_path):
    path = _write(tmp_path, "busy", ADD_ONE, SCALED_SUM)
    runner = ScriptedRunner({"busy": [add_one_timed_out()] * 2})
    result = grader.grade([path], runner)[0]
    assert runner.runs["busy"] == 2 and "written as in the reference" in result.problem


def test_reference_code_slowed_by_the_students_own_callee_is_not_rerun(grader, tmp_path):
    looping = "# GRADED: add_one\ndef add_one(x):\n    while True:\n        pass\n"
    path = _write(tmp_path, "slow_callee", looping, SCALED_SUM)  # scaled_sum is the reference's, but calls add_one
    late = CallResult(False, None, ErrorInfo("StepTimeLimit", "stopped after 1 s", "", True), 1.0)
    run = RunResult("ok", "", {"add_one": StepResult(True), "scaled_sum": StepResult(True)}, [late] * 5)
    runner = ScriptedRunner({"slow_callee": [run]})
    grader.grade([path], runner)
    assert runner.runs["slow_callee"] == 1
