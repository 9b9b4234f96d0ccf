"""The one grading driver: the same pipeline whatever runs the jobs; the runner picked in one place."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import autograder.grading.cluster
import autograder.grading.driver as driver
from autograder.authoring.student import strip_solutions
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.run import Limits
from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook

LIMITS = Limits(timeout_s=8, memory_mb=400, cpu_s=20)  # as conftest's `sandbox`


class Recording:
    """A runner that hands the jobs to another and remembers what it was given."""

    def __init__(self, inner) -> None:
        self.inner, self.labels, self.jobs = inner, None, 0

    def run_many(self, jobs, on_result=None, labels=None):
        self.labels, self.jobs = labels, len(jobs)
        return self.inner.run_many(jobs, on_result=on_result)


def _class(folder: Path) -> list[Path]:
    folder.mkdir()
    notebooks = {"full": notebook(SETUP, ADD_ONE, SCALED_SUM),
                 "blank": notebook(SETUP, strip_solutions(ADD_ONE), strip_solutions(SCALED_SUM))}
    paths = []
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
        paths.append(folder / f"{name}.ipynb")
    (folder / "essay.ipynb").write_text("not a notebook")
    return [*paths, folder / "essay.ipynb"]


def _scores(result):
    return (result.submission, result.points, result.max_points, result.problem,
            [(c.name, c.passed, c.message) for ex in result.exercises for c in ex.cases])


def test_any_runner_with_run_many_grades_the_same_class(tiny_solutions, sandbox, tmp_path):
    paths = _class(tmp_path / "class")
    config = GradeConfig(tiny_solutions, limits=LIMITS)
    direct = Grader(config).grade(paths, sandbox)
    runner = Recording(sandbox)
    delivered = []
    through = Grader(config).grade(paths, runner, on_result=delivered.append)
    assert [_scores(r) for r in through] == [_scores(r) for r in direct]
    assert runner.labels == ["full", "blank"] and runner.jobs == 2  # the unreadable file has a row, not a job
    assert sorted(r.submission for r in delivered) == ["blank", "essay", "full"]
    assert through[0].points == through[0].max_points > 0 and through[1].points == 0 and through[2].problem


def test_the_session_is_used_in_a_with_block(tiny_solutions, tmp_path):
    session = driver.GradingSession(GradeConfig(tiny_solutions, limits=LIMITS), [])
    with pytest.raises(RuntimeError, match="with"):
        session.grade()


class Fake:
    """Stands in for a runner class: records how it was made."""

    made: list = []

    def __init__(self, *args, **kwargs) -> None:
        Fake.made.append((args, kwargs))


def test_the_runner_is_picked_in_one_place(monkeypatch, tiny_solutions):
    monkeypatch.setattr(driver, "Sandbox", Fake)
    monkeypatch.setattr(autograder.grading.cluster, "GradingCluster", Fake)
    Fake.made = []
    config = GradeConfig(tiny_solutions, jobs=3, limits=LIMITS)
    assert isinstance(driver.open_runner(config, deny_paths=["/srv/out"]), Fake)
    assert isinstance(driver.open_runner(config, scheduler="local:2"), Fake)
    assert Fake.made == [((LIMITS,), {"workers": 3, "deny_paths": ["/srv/out"]}), (("local:2", LIMITS), {})]
    Fake.made = []
    driver.open_runner(config, submissions=1)  # one submission: one template (one TensorFlow import) is enough
    driver.open_runner(config, submissions=40)
    assert [made[1]["workers"] for made in Fake.made] == [1, 3]
