"""A2's catalogue of mistakes: each named by the grader and by `check` in the same words, never for a right answer.

Also A2's errors in the student's words: the column-vector convention's shape
error and a NumPy function's missing gradients, in the grader and in `check`.
"""

from __future__ import annotations

import pytest
from lesson_submissions import grade_submissions, kernel_with, solution
from mistake_suite import (SEEN, assert_named_by_check, assert_named_by_grader, assert_no_internals, exercise_of,
                           mistake_plan)

from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.grading.mistakes import named_mistake
from autograder.grading.reference import reference_results
from autograder.run import Limits

A2 = load_assignment(solution("A2"))
PLAN, NAMED = mistake_plan("A2", A2)

COLUMN_VECTORS = '''# GRADED: rnn_step
def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    return tf.tanh(W_x @ x_t + W_h @ h_prev + b_h)
'''
NUMPY_STEP = '''# GRADED: rnn_step
def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    return np.tanh(np.asarray(x_t) @ np.asarray(W_x) + np.asarray(h_prev) @ np.asarray(W_h) + np.asarray(b_h))
'''
NO_BIAS_BY_HAND = '''# GRADED: rnn_step
def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    return tf.math.tanh(tf.matmul(x_t, W_x) + tf.matmul(h_prev, W_h))
'''
RIGHT_BY_HAND = '''# GRADED: rnn_step
def rnn_step(x_t, h_prev, W_x, W_h, b_h):
    return tf.math.tanh(tf.matmul(h_prev, W_h) + b_h[None, :] + tf.matmul(x_t, W_x))
'''
EXTRA = {"A2-columns": COLUMN_VECTORS, "A2-numpy": NUMPY_STEP, "A2-no-bias-by-hand": NO_BIAS_BY_HAND,
         "A2-right-by-hand": RIGHT_BY_HAND}
CONVENTION = A2.exercise("rnn_step").convention


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = dict(PLAN)
    submissions.update({name: ("A2", {"rnn_step": cell}) for name, cell in EXTRA.items()})
    submissions["A2-reference"] = ("A2", {})
    results = grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a2-mistakes"))
    SEEN.extend(c.message for r in results.values() for e in r.exercises for c in e.cases)
    return results


def test_every_catalogued_mistake_is_named_by_the_grader(graded):
    assert sum(len(ex.mistakes) for ex in A2.exercises) >= 15
    assert all(len(ex.mistakes) >= 3 for ex in A2.exercises)
    assert_named_by_grader(graded, NAMED)


@pytest.mark.parametrize("key", sorted(NAMED), ids=lambda k: k[0] + "/" + k[1])
def test_check_names_the_mistake_in_the_graders_words(graded, key):
    ex, i = NAMED[key]
    messages = [c.message for c in exercise_of(graded[key[0]], key[1]).cases]
    assert_named_by_check("A2", A2, ex, i, messages)


def test_a_mistake_is_never_named_for_a_right_answer(graded):
    for name in ("A2-reference", "A2-right-by-hand"):
        assert graded[name].points == graded[name].max_points, [e.message for e in graded[name].exercises]
    run = reference_results(A2, Limits(), solution("A2").parent)
    for ex in A2.exercises:
        for case in ex.cases:
            expected = run.expected[(ex.name, case.name)]
            assert named_mistake(case, expected, {k: v for k, v in expected.items() if k != "mistakes"}) == ""


def test_a_mistake_written_differently_is_recognised_by_its_outputs(graded):
    says = A2.exercise("rnn_step").mistakes[0].says
    cases = exercise_of(graded["A2-no-bias-by-hand"], "rnn_step").cases
    assert all(c.message.startswith(says + "\n") for c in cases), [c.message for c in cases]
    assert "hint:" not in cases[0].message  # the generic hint only when no mistake matched


def test_the_column_convention_is_one_line_naming_the_product_the_shapes_the_line_and_the_convention(graded):
    cases = exercise_of(graded["A2-columns"], "rnn_step").cases
    for case in cases:
        assert case.message.startswith("shape error in `@` (matrix product) at line 3 of your cell: ("), case.message
        assert case.message.endswith(f"this exercise's convention: {CONVENTION}") and "\n" not in case.message
    first = cases[0].message
    report = str(check("rnn_step", "A2", kernel_with("A2", "rnn_step", COLUMN_VECTORS), quiet=True))
    SEEN.append(report)
    assert f"batch 2, D 3, H 4: {first}" in report, report


def test_numpy_instead_of_tensors_is_told_plainly_on_every_case_it_affects(graded):
    cases = exercise_of(graded["A2-numpy"], "rnn_step").cases
    with_grads = [c for c, spec in zip(cases, A2.exercise("rnn_step").cases) if spec.grad_wrt]
    assert with_grads and all(not c.passed and "returned NumPy values" in c.message for c in with_grads), \
        [c.message for c in cases]
    report = str(check("rnn_step", "A2", kernel_with("A2", "rnn_step", NUMPY_STEP), quiet=True))
    SEEN.append(report)
    assert "returned NumPy values" in report, report


def test_numbers_are_shown_to_six_significant_digits(graded):
    message = exercise_of(graded["A2-no-bias-by-hand"], "rnn_step").cases[0].message
    import re

    assert not re.search(r"\d\.\d{7,}", message), message


def test_no_feedback_of_these_tests_shows_tensorflow_internals(graded):
    assert len(SEEN) > 50
    assert_no_internals(SEEN)


def test_one_message_for_several_cases_is_said_once_by_check_with_their_count():
    stub = ('# GRADED: rnn_step\ndef rnn_step(x_t, h_prev, W_x, W_h, b_h):\n'
            '    raise NotImplementedError("Replace this line with your code.")\n')
    report = str(check("rnn_step", "A2", kernel_with("A2", "rnn_step", stub), quiet=True))
    assert report.count("is not implemented yet") == 1 and "✗ 3 cases (batch 2, D 3, H 4, " in report, report
