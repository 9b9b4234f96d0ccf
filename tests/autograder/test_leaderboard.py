"""A leaderboard entry is the median of several runs of its case, measured by the supervisor."""

from __future__ import annotations

import nbformat
import pytest

from scripted_runner import ScriptedRunner, tiny_grader
from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook
from autograder.grading.leaderboard import LEADERBOARD_RUNS
from autograder.run import CallResult, RunResult, StepResult


@pytest.fixture()
def grader(tmp_path, monkeypatch):
    return tiny_grader(tmp_path / "solutions", monkeypatch, 1.0)


def test_the_entry_is_the_median_of_its_runs(grader, tmp_path):
    path = tmp_path / "fast.ipynb"
    nbformat.write(notebook(SETUP, ADD_ONE, SCALED_SUM), path)
    ok = CallResult(True, {"value": 1.0}, None, 0.010)
    own = [ok, ok, CallResult(True, {"value": 1.0}, None, 0.200), ok, ok]  # "many values" (index 2) took 200 ms
    repeats = [CallResult(True, None, None, 0.050), CallResult(True, None, None, 0.040)]
    run = RunResult("ok", "", {"add_one": StepResult(True), "scaled_sum": StepResult(True)}, own + repeats)
    runner = ScriptedRunner({"fast": [run]})
    result = grader.grade([path], runner)[0]
    (job,) = runner.jobs
    assert len(job.calls) == 5 + LEADERBOARD_RUNS - 1
    assert all((c["exercise"], c["case"]) == ("add_one", "many values") for c in job.calls[5:])
    (entry,) = result.leaderboard
    assert entry.value == 50.0  # median of 200, 50 and 40 ms: one slow run does not decide it
