"""The reference's results, stored with the solutions: reused while nothing changed, recomputed when it did,
and never readable from a student's job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook
from autograder.authoring.student import load_assignment
from autograder.grading import reference
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.run import Limits

LIMITS = Limits(timeout_s=60, memory_mb=2048)
READER = '''# GRADED: add_one
import os
CACHE = {cache!r}
try:
    with open(CACHE) as handle:
        got = "READ " + handle.read(200)
except OSError as exc:
    got = f"refused {{type(exc).__name__}}"
try:
    listed = "LISTED " + ",".join(os.listdir(os.path.dirname(CACHE)))
except OSError as exc:
    listed = f"refused {{type(exc).__name__}}"
print("cache:", got, "|", listed)

def add_one(x):
    return x + 1
'''


@pytest.fixture()
def solutions(tmp_path) -> Path:
    folder = tmp_path / "solutions"
    folder.mkdir()
    nbformat.write(notebook(SETUP, CASES, ADD_ONE, SCALED_SUM), folder / "T1.ipynb")
    reference._MEMORY.clear()
    return folder


def _no_sandbox(*args, **kwargs):
    raise AssertionError("the reference ran although its results were stored")


def test_results_are_stored_once_and_reused_without_running_the_reference(solutions, monkeypatch):
    assignment = load_assignment(solutions / "T1.ipynb")
    first = reference.reference_results(assignment, LIMITS, solutions)
    path = reference.cache_path(solutions, "T1")
    assert path.is_file() and json.loads(path.read_text())["key"] == reference.cache_key(assignment)
    reference._MEMORY.clear()
    monkeypatch.setattr(reference, "Sandbox", _no_sandbox)
    again = reference.reference_results(assignment, LIMITS, solutions)
    assert again.expected == first.expected
    assert set(again.seconds) == set(first.seconds) and again.speed_s == first.speed_s


def test_a_changed_reference_is_detected_and_recomputed(solutions, monkeypatch):
    assignment = load_assignment(solutions / "T1.ipynb")
    reference.reference_results(assignment, LIMITS, solutions)
    changed = ADD_ONE.replace("return x + 1", "return x + 1.0")
    nbformat.write(notebook(SETUP, CASES, changed, SCALED_SUM), solutions / "T1.ipynb")
    assert reference.cache_key(load_assignment(solutions / "T1.ipynb")) != reference.cache_key(assignment)
    reference._MEMORY.clear()
    monkeypatch.setattr(reference, "Sandbox", _no_sandbox)
    with pytest.raises(AssertionError, match="ran although"):
        reference.reference_results(load_assignment(solutions / "T1.ipynb"), LIMITS, solutions)


def test_a_damaged_store_is_ignored_not_trusted(solutions):
    assignment = load_assignment(solutions / "T1.ipynb")
    path = reference.cache_path(solutions, "T1")
    path.parent.mkdir()
    path.write_text('{"format": 1, "key": "%s", "expected": 5}' % reference.cache_key(assignment))
    assert reference.load(path, reference.cache_key(assignment)) is None
    run = reference.reference_results(assignment, LIMITS, solutions)
    assert run.expected and reference.load(path, reference.cache_key(assignment)) is not None


def test_stored_step_times_follow_the_machines_speed(monkeypatch):
    run = reference.ReferenceRun({}, {("e", "c"): 0.5}, speed_s=0.01)
    monkeypatch.setattr(reference, "machine_speed", lambda: 0.03)
    assert run.scaled_seconds() == {("e", "c"): pytest.approx(1.5)}
    monkeypatch.setattr(reference, "machine_speed", lambda: 0.005)
    assert run.scaled_seconds() == {("e", "c"): pytest.approx(0.25)}  # stored on a busy machine, used on a quiet one
    monkeypatch.setattr(reference, "machine_speed", lambda: 0.0001)
    assert run.scaled_seconds() == {("e", "c"): pytest.approx(0.5 * reference.MIN_SCALE)}  # never absurdly short


@pytest.mark.slow
def test_a_job_cannot_read_the_stored_results(solutions, tmp_path):
    assignment = load_assignment(solutions / "T1.ipynb")
    reference.reference_results(assignment, LIMITS, solutions)
    cache = reference.cache_path(solutions, "T1")
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    nbformat.write(notebook(SETUP, READER.format(cache=str(cache)), SCALED_SUM), class_dir / "reader.ipynb")
    result = Grader(GradeConfig(solutions, "T1", 1, LIMITS)).grade([class_dir / "reader.ipynb"])[0]
    assert "cache: refused" in result.output and "READ" not in result.output, result.output
    assert "LISTED" not in result.output, result.output
    assert result.points == result.max_points  # the reader's own work still counts
    shutil.rmtree(cache.parent)
