"""Known mistakes: run with the reference (never in a student's job), stored with its results and in their key,
named first when a student's output matches, never for a right answer."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook
from autograder.authoring.spec import Case, Mistake
from autograder.authoring.student import load_assignment
from autograder.grading import reference
from autograder.grading.judge import compare_call
from autograder.grading.mistakes import variant_steps
from autograder.grading.pipeline import submission_job
from autograder.run import Limits
from autograder.run.plain import from_plain, to_plain

SAYS_TWO = "You added 2: add exactly one."
SAYS_PLUS_K = "k is added to the sum: multiply the sum by k."
WITH_MISTAKES = CASES.replace("from autograder.authoring.spec import Case, Exercise, Leaderboard",
                              "from autograder.authoring.spec import Case, Exercise, Leaderboard, Mistake").replace(
    'Exercise("add_one", cases=(',
    f'Exercise("add_one", mistakes=(Mistake({SAYS_TWO!r}, [("x + 1", "x + 2")]), '
    'Mistake("never told apart", [("x + 1", "1 + x")])), cases=(').replace(
    'Exercise("scaled_sum", needs=("add_one",), cases=(',
    f'Exercise("scaled_sum", needs=("add_one",), mistakes=(Mistake({SAYS_PLUS_K!r}, [(") * k", ") + k")]),), '
    'cases=(')


@pytest.fixture()
def solutions(tmp_path) -> Path:
    folder = tmp_path / "solutions"
    folder.mkdir()
    nbformat.write(notebook(SETUP, WITH_MISTAKES, ADD_ONE, SCALED_SUM), folder / "T1.ipynb")
    reference._MEMORY.clear()
    return folder


def test_the_mistakes_run_with_the_reference_and_are_stored_with_its_results(solutions):
    assignment = load_assignment(solutions / "T1.ipynb")
    run = reference.reference_results(assignment, Limits(timeout_s=60, memory_mb=2048), solutions)
    for case in ("three values", "one value", "many values"):
        kept = run.expected[("add_one", case)]["mistakes"]
        assert [m["says"] for m in kept] == [SAYS_TWO]  # "1 + x" is the reference's value: never kept
        assert np.allclose(from_plain(kept[0]["value"]) - 1, from_plain(run.expected[("add_one", case)]["value"]))
    assert [m["says"] for m in run.expected[("scaled_sum", "k=2")]["mistakes"]] == [SAYS_PLUS_K]
    stored = json.loads(reference.cache_path(solutions, "T1").read_text())
    assert SAYS_TWO in json.dumps(stored["expected"]) and stored["key"] == reference.cache_key(assignment)


def test_a_changed_mistake_changes_the_key_and_a_stale_one_fails_loudly(solutions):
    assignment = load_assignment(solutions / "T1.ipynb")
    key = reference.cache_key(assignment)
    path = solutions / "T1.ipynb"
    path.write_text(path.read_text().replace("x + 2", "x + 3"))
    assert reference.cache_key(load_assignment(path)) != key
    path.write_text(path.read_text().replace("x + 3", "x - 7").replace('(\\"x + 1\\", \\"x - 7\\")',
                                                                       '(\\"x + 100\\", \\"x - 7\\")'))
    with pytest.raises(ValueError, match="is not in the reference's cell"):
        variant_steps(load_assignment(path))


def test_a_students_job_never_holds_a_mistake(solutions):
    assignment = load_assignment(solutions / "T1.ipynb")
    job = submission_job(assignment, {"add_one": ADD_ONE, "scaled_sum": SCALED_SUM}, [])
    assert all("~" not in c.exercise for c in job.cells) and all("~" not in c["exercise"] for c in job.calls)
    assert all("x + 2" not in json.dumps(c) for c in job.calls)


def _result(values) -> dict:
    return {"value": to_plain(np.asarray(values, dtype="float32"))}


def test_a_matching_mistake_is_named_first_and_replaces_the_hint():
    case = Case("c", lambda rng: [], hint="the generic hint")
    expected = {**_result([1.0, 2.0]), "mistakes": [{"says": SAYS_TWO, **_result([2.0, 3.0])}]}
    passed, message = compare_call(case, expected, json.loads(json.dumps(_result([2.0, 3.0]))))
    assert not passed and message.startswith(SAYS_TWO + "\n") and "hint" not in message
    passed, message = compare_call(case, expected, _result([5.0, 3.0]))  # wrong, but not this mistake
    assert not passed and SAYS_TWO not in message and message.endswith("hint: the generic hint")
    assert compare_call(case, expected, _result([1.0, 2.0 + 1e-7])) == (True, "passed")


def test_numbers_are_shown_to_six_significant_digits():
    case = Case("c", lambda rng: [])
    _, message = compare_call(case, _result([1 / 3, 2.0]), _result([2 / 3, 2.0]))
    assert "expected 0.333333, got 0.666667" in message, message


def test_a_mistake_needs_a_sentence_and_a_change_that_applies():
    with pytest.raises(ValueError):
        Mistake("  ", [("a", "b")])
    with pytest.raises(ValueError, match="the reference itself"):
        Mistake("same", [("a", "a")]).variant("a + 1")
    assert Mistake("cell", "def f(): pass").variant("anything") == "def f(): pass"
    assert Mistake("fn", lambda s: s.upper()).variant("abc") == "ABC"


def test_one_message_for_several_cases_is_said_once_in_the_feedback_file():
    from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
    from autograder.reports.writer import feedback_markdown

    same = "`f` is not implemented yet (it still raises NotImplementedError)"
    cases = [CaseResult("a", False, 0.0, 1.0, False, same), CaseResult("b", False, 0.0, 1.0, False, same),
             CaseResult("c", True, 0.0, 1.0, False, same), CaseResult("d", False, 1.0, 1.0, True, "passed"),
             CaseResult("e", False, 0.0, 1.0, False, "other")]
    text = feedback_markdown(SubmissionResult("s", "T1", [ExerciseResult("f", cases)]))
    assert text.count(same) == 1 and "The same for these 3 cases:" in text and text.count("other") == 1, text
