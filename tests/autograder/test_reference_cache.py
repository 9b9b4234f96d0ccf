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
from autograder.grading.driver import GradingSession
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
    assert again.cpu_speed_s == first.cpu_speed_s > 0
    assert again.cpu_seconds == first.cpu_seconds and set(first.cpu_seconds) == set(first.seconds)
    assert all(v >= 0 for v in first.cpu_seconds.values()) and sum(first.cpu_seconds.values()) > 0


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


def test_assign_stores_the_full_results_so_the_first_grading_call_runs_no_reference(solutions, tmp_path,
                                                                                    monkeypatch):
    from autograder.authoring.assign import assign_all

    assign_all(solutions, tmp_path / "notebooks")
    assignment = load_assignment(solutions / "T1.ipynb")
    stored = reference.load(reference.cache_path(solutions, "T1"), reference.cache_key(assignment))
    assert stored is not None and set(stored.expected) == {(e.name, c.name) for e in assignment.exercises
                                                           for c in e.cases}  # hidden cases too
    assert "many values" not in (tmp_path / "notebooks" / "T1.ipynb").read_text()  # a hidden case's name
    reference._MEMORY.clear()
    monkeypatch.setattr(reference, "Sandbox", _no_sandbox)
    assert reference.reference_results(assignment, LIMITS, solutions).expected == stored.expected


def test_a_fresh_reference_runs_as_a_job_of_the_pool_it_is_given(solutions, sandbox, monkeypatch):
    monkeypatch.setattr(reference, "Sandbox", _no_sandbox)  # no second sandbox (no second TensorFlow import)
    assignment = load_assignment(solutions / "T1.ipynb")
    with reference.runs_in(sandbox):
        run = reference.reference_results(assignment, LIMITS, solutions)
    assert run.expected and run.seconds
    assert reference.load(reference.cache_path(solutions, "T1"), reference.cache_key(assignment)) is not None


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


@pytest.mark.slow
def test_a_session_runs_its_reference_in_its_own_pool_out_of_the_students_reach(solutions, tmp_path, monkeypatch):
    """One submission, no stored results: the reference is the pool's first job (no sandbox of its own), and the
    student's job after it can read neither the results it stored nor the folder that holds them."""
    monkeypatch.setattr(reference, "Sandbox", _no_sandbox)
    cache = reference.cache_path(solutions, "T1")
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    nbformat.write(notebook(SETUP, READER.format(cache=str(cache)), SCALED_SUM), class_dir / "reader.ipynb")
    with GradingSession(GradeConfig(solutions, "T1", 2, LIMITS), [class_dir / "reader.ipynb"]) as session:
        assert session.workers() == 1  # one submission: one template, one TensorFlow import
        assert cache.is_file()  # run and stored before the student's job
        result = session.grade()[0]
    assert "cache: refused" in result.output and "READ" not in result.output, result.output
    assert "LISTED" not in result.output, result.output
    assert result.points == result.max_points


def test_cpu_limits_follow_the_processor_not_the_load(monkeypatch):
    """A busy machine stretches the wall-clock times (and so the wall-clock limits), not the CPU-time ones."""
    run = reference.ReferenceRun({}, {("e", "c"): 0.5}, speed_s=0.01, cpu_speed_s=0.01, cpu_seconds={("e", "c"): 0.8})
    monkeypatch.setattr(reference, "machine_speed", lambda cpu=False: 0.01 if cpu else 0.03)  # busy: 3x the wall
    assert run.scaled_seconds() == {("e", "c"): pytest.approx(1.5)}
    assert run.scaled_seconds(cpu=True) == {("e", "c"): pytest.approx(0.8)}  # its CPU time (it used two cores)
    monkeypatch.setattr(reference, "machine_speed", lambda cpu=False: 0.02)  # a processor half as fast
    assert run.scaled_seconds(cpu=True) == {("e", "c"): pytest.approx(1.6)}
    older = reference.ReferenceRun({}, {("e", "c"): 0.5}, speed_s=0.01)  # stored without a CPU figure
    assert older.scaled_seconds(cpu=True) == older.scaled_seconds()


def test_the_calibration_measures_cpu_time_apart_from_the_wall_clock():
    wall, cpu = reference.machine_speed(), reference.machine_speed(cpu=True)
    assert 0 < cpu <= wall * 1.5  # this thread's CPU time: never much more than the time that passed
