"""A runner that answers each job with scripted results: the grading pipeline tested without a sandbox."""

from __future__ import annotations

import nbformat

from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook
from autograder.authoring.student import load_assignment
from autograder.grading import pipeline
from autograder.grading.reference import ReferenceRun
from autograder.run import RunResult


class ScriptedRunner:
    """Answers each job with the next scripted result for its submission; counts the runs."""

    def __init__(self, script: dict[str, list[RunResult]]) -> None:
        self.script, self.runs = script, {name: 0 for name in script}
        self.jobs: list = []

    def run_many(self, jobs, on_result=None, labels=None):
        self.jobs += list(jobs)
        for i, label in enumerate(labels):
            result = self.script[label][min(self.runs[label], len(self.script[label]) - 1)]
            self.runs[label] += 1
            on_result(i, result)


def tiny_grader(folder, monkeypatch, value: float) -> "pipeline.Grader":
    """A grader of the tiny assignment whose reference answers `value` on every case (no sandbox runs)."""
    folder.mkdir()
    nbformat.write(notebook(SETUP, CASES, ADD_ONE, SCALED_SUM), folder / "T1.ipynb")
    assignment = load_assignment(folder / "T1.ipynb")
    expected = {(ex.name, c.name): {"value": value} for ex in assignment.exercises for c in ex.cases}
    monkeypatch.setattr(pipeline, "reference_results", lambda *a, **k: ReferenceRun(expected, {}, 1.0))
    return pipeline.Grader(pipeline.GradeConfig(folder, "T1", 1))
