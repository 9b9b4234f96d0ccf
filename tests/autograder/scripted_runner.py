"""A runner that answers each job with scripted results: the grading pipeline tested without a sandbox."""

from __future__ import annotations

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
