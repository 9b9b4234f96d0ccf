"""A2's `rnn_backward`: the reference agrees with the tape, a tape shortcut scores 0, an honest loop full marks.

The shortcut below is a correct gradient (it gives the tape the true value of every
state and the slope of tanh there), so only the rule can make it score 0. The honest
variant walks back with a Python loop instead of the reference's reversed scan.
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_submissions import assert_full_marks, assert_rule_broken, assert_rules_stated, grade_submissions, solution
from lesson_submissions import kernel_with as lesson_kernel

from autograder.authoring.student import load_assignment
from autograder.check import check
from autograder.authoring.spec import case_args

A2 = load_assignment(solution("A2"))

TAPE_SHORTCUT = '''# GRADED: rnn_backward
def rnn_backward(x, h0, hs, dhs, W_h):
    W_x = tf.zeros((x.shape[2], W_h.shape[0]))
    b_h = tf.zeros((W_h.shape[0],))
    with tf.GradientTape() as tape:
        tape.watch([W_x, W_h, b_h, h0])
        h, total = h0, 0.0
        for t in range(x.shape[1]):
            a = x[:, t] @ W_x + h @ W_h + b_h  # (B, H): the wrong value, the right slopes
            h = hs[:, t] + (a - tf.stop_gradient(a)) * (1.0 - hs[:, t] ** 2)  # value h_t, slope tanh'(a_t)
            total += tf.reduce_sum(h * dhs[:, t])
    return tuple(tape.gradient(total, [W_x, W_h, b_h, h0]))
'''
TAPE_AT_RUN_TIME = TAPE_SHORTCUT.replace("tf.GradientTape()", 'getattr(tf, "Gradient" + "Tape")()')
GRADIENTS_IN_A_GRAPH = '''# GRADED: rnn_backward
from tensorflow import gradients as grad


def rnn_backward(x, h0, hs, dhs, W_h):
    W_x = tf.zeros((x.shape[2], W_h.shape[0]))
    b_h = tf.zeros((W_h.shape[0],))

    @tf.function
    def backward(W_x, W_h, b_h, h0):
        h, total = h0, 0.0
        for t in range(x.shape[1]):
            a = x[:, t] @ W_x + h @ W_h + b_h
            h = hs[:, t] + (a - tf.stop_gradient(a)) * (1.0 - hs[:, t] ** 2)
            total += tf.reduce_sum(h * dhs[:, t])
        return grad(total, [W_x, W_h, b_h, h0])

    return tuple(backward(W_x, W_h, b_h, h0))
'''
HONEST_LOOP = '''# GRADED: rnn_backward
def rnn_backward(x, h0, hs, dhs, W_h):
    dW_x = tf.zeros((x.shape[2], W_h.shape[0]))
    dW_h = tf.zeros_like(W_h)
    db_h = tf.zeros((W_h.shape[0],))
    carry = tf.zeros_like(h0)  # dL/dh_t arriving from step t + 1
    for t in reversed(range(x.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else h0
        delta = (dhs[:, t] + carry) * (1.0 - hs[:, t] * hs[:, t])  # (B, H)
        dW_x += tf.matmul(x[:, t], delta, transpose_a=True)
        dW_h += tf.matmul(h_prev, delta, transpose_a=True)
        db_h += tf.reduce_sum(delta, axis=0)
        carry = tf.matmul(delta, W_h, transpose_b=True)
    return dW_x, dW_h, db_h, carry
'''
SUBMISSIONS = {"tape": TAPE_SHORTCUT, "tape_at_run_time": TAPE_AT_RUN_TIME, "gradients_in_a_graph": GRADIENTS_IN_A_GRAPH,
               "honest_loop": HONEST_LOOP}
BROKEN = {  # submission -> words the message must hold besides the rule's text
    "tape": "uses `tensorflow.GradientTape`",
    "tape_at_run_time": "called `tf.GradientTape` while running",
    "gradients_in_a_graph": "imports `tensorflow.gradients`",
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: ("A2", {"rnn_backward": cell}) for name, cell in SUBMISSIONS.items()}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a2-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_an_autodiff_shortcut_scores_zero_with_the_rules_words(graded, name):
    assert_rule_broken(graded[name], "A2", "rnn_backward", BROKEN[name])


@pytest.mark.slow
def test_an_honest_python_loop_keeps_full_marks(graded):
    assert_full_marks(graded["honest_loop"])


def kernel_with(cell: str) -> dict:
    return lesson_kernel("A2", "rnn_backward", cell)


def test_check_refuses_the_tape_in_the_students_kernel():
    report = check("rnn_backward", "A2", kernel_with(TAPE_SHORTCUT), quiet=True)
    assert report.passed == 0 and report.total > 0
    rule_text = A2.exercise("rnn_backward").rules.describe("rnn_backward")
    assert rule_text in str(report) and "uses `tensorflow.GradientTape`" in str(report), str(report)
    assert check("rnn_backward", "A2", kernel_with(HONEST_LOOP), quiet=True).ok


def tape_gradients(x, h0, hs, dhs, W_h):
    """The four gradients by tf.GradientTape, in float64, from the stored states (W_x and b_h are not needed:
    the tape gets each state's value and the slope of tanh there)."""
    import tensorflow as tf

    x, h0, hs, dhs, W_h = (tf.constant(a, tf.float64) for a in (x, h0, hs, dhs, W_h))
    W_x = tf.zeros((x.shape[2], W_h.shape[0]), tf.float64)
    b_h = tf.zeros((W_h.shape[0],), tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([W_x, W_h, b_h, h0])
        h, total = h0, tf.constant(0.0, tf.float64)
        for t in range(x.shape[1]):
            a = x[:, t] @ W_x + h @ W_h + b_h  # (B, H)
            h = hs[:, t] + (a - tf.stop_gradient(a)) * (1.0 - hs[:, t] ** 2)  # (B, H)
            total += tf.reduce_sum(h * dhs[:, t])
    return [g.numpy() for g in tape.gradient(total, [W_x, W_h, b_h, h0])]


def test_the_references_gradients_agree_with_the_tape_on_every_case():
    ns = kernel_with(A2.cells["rnn_backward"])
    ex = A2.exercise("rnn_backward")
    assert {c.hidden for c in ex.cases} == {True, False}
    for case in ex.cases:
        args = case_args("A2", ex, case)
        ours = [np.asarray(g) for g in ns["rnn_backward"](*args)]
        theirs = tape_gradients(*args)
        x, h0, hs, _, W_h = args
        assert [g.shape for g in ours] == [(x.shape[2], W_h.shape[0]), W_h.shape, (W_h.shape[0],), h0.shape]
        for name, a, b in zip(["dW_x", "dW_h", "db_h", "dh0"], ours, theirs):
            assert a.dtype == np.float32, (case.name, name, a.dtype)
            np.testing.assert_allclose(a, b, rtol=case.rtol / 10, atol=case.atol / 10, err_msg=f"{case.name}: {name}")


def test_the_exercise_states_its_rules_and_its_cases_are_worth_tenths():
    ex = A2.exercise("rnn_backward")
    assert ex.rules and ex.worth
    assert all(abs(ex.case_points(c) * 10 - round(ex.case_points(c) * 10)) < 1e-9 for c in ex.cases)
    assert_rules_stated("A2", "rnn_backward")
