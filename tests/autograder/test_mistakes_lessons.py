"""A1's, A3's, A4's, A5's, A6's and A7's catalogues of mistakes: each named by the grader and by `check` in the same words.

Every lesson's mistakes are graded in one run of the real grader (see `mistake_suite`);
the reference of each lesson gets full marks and names no mistake.
"""

from __future__ import annotations

import pytest
from lesson_submissions import grade_submissions, solution
from mistake_suite import (SEEN, assert_named_by_check, assert_named_by_grader, assert_no_internals, exercise_of,
                           mistake_plan)

from autograder.authoring.student import load_assignment

LESSONS = ("A1", "A3", "A4", "A5", "A6", "A7")
ASSIGNMENTS = {lesson: load_assignment(solution(lesson)) for lesson in LESSONS}
PLANS = {lesson: mistake_plan(lesson, ASSIGNMENTS[lesson]) for lesson in LESSONS}
NAMED = {key: (lesson, *value) for lesson in LESSONS for key, value in PLANS[lesson][1].items()}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: sub for lesson in LESSONS for name, sub in PLANS[lesson][0].items()}
    submissions.update({f"{lesson}-reference": (lesson, {}) for lesson in LESSONS})
    results = grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("lesson-mistakes"))
    SEEN.extend(c.message for r in results.values() for e in r.exercises for c in e.cases)
    return results


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_graded_exercise_has_three_mistakes_or_more(lesson):
    assert all(len(ex.mistakes) >= 3 for ex in ASSIGNMENTS[lesson].exercises), lesson


def test_every_catalogued_mistake_is_named_by_the_grader(graded):
    assert_named_by_grader(graded, {key: value[1:] for key, value in NAMED.items()})


@pytest.mark.parametrize("key", sorted(NAMED), ids=lambda k: k[0] + "/" + k[1])
def test_check_names_the_mistake_in_the_graders_words(graded, key):
    lesson, ex, i = NAMED[key]
    messages = [c.message for c in exercise_of(graded[key[0]], key[1]).cases]
    assert_named_by_check(lesson, ASSIGNMENTS[lesson], ex, i, messages)


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_reference_scores_full_marks_and_is_told_no_mistake(graded, lesson):
    result = graded[f"{lesson}-reference"]
    assert result.points == result.max_points, [e.message for e in result.exercises]


def test_no_feedback_of_these_tests_shows_tensorflow_internals(graded):
    assert len(SEEN) > 100
    assert_no_internals(SEEN)
