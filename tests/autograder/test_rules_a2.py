"""A2's `rnn_backward`: the reference agrees with the tape, a tape shortcut scores 0, an honest loop full marks.

The shortcut below is a correct gradient (it gives the tape the true value of every
state and the slope of tanh there), so only the rule can make it score 0. The honest
variant walks back with a Python loop instead of the reference's reversed scan.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assign import load_assignment
from autograder.check import check
from autograder.grade import GradeConfig, Grader
from autograder.notebook import GRADED, first_line
from autograder.run import Limits
from autograder.spec import case_args

ROOT = Path(__file__).resolve().parents[2]
A2 = load_assignment(ROOT / "solutions" / "A2.ipynb")

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


def with_backward(cell: str) -> nbformat.NotebookNode:
    """The reference notebook with its `rnn_backward` cell replaced."""
    nb = nbformat.read(ROOT / "solutions" / "A2.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and first_line(c.source) == "# GRADED: rnn_backward"]
    assert len(cells) == 1 and GRADED.match(first_line(cell))
    cells[0].source = cell
    return nb


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("a2-rules")
    paths = []
    for name, cell in SUBMISSIONS.items():
        nbformat.write(with_backward(cell), folder / f"{name}.ipynb")
        paths.append(folder / f"{name}.ipynb")
    grader = Grader(GradeConfig(ROOT / "solutions", None, 2, Limits()))
    return {r.submission: r for r in grader.grade(paths, roomy_sandbox)}


def exercise(result, name):
    return next(e for e in result.exercises if e.name == name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_an_autodiff_shortcut_scores_zero_with_the_rules_words(graded, name):
    result = graded[name]
    backward = exercise(result, "rnn_backward")
    assert backward.max_points > 0 and backward.points == 0, backward.message
    rule_text = A2.exercise("rnn_backward").rules.describe("rnn_backward")
    for case in backward.cases:
        assert rule_text in case.message and BROKEN[name] in case.message, case.message
    others = [e for e in result.exercises if e.name != "rnn_backward"]
    assert all(e.points == e.max_points for e in others), [(e.name, e.message) for e in others]


@pytest.mark.slow
def test_an_honest_python_loop_keeps_full_marks(graded):
    result = graded["honest_loop"]
    assert result.points == result.max_points > 0, [(e.name, e.message) for e in result.exercises]


def kernel_with(cell: str) -> dict:
    """A student's kernel: the setup cell, then `cell`, compiled as IPython would."""
    ns: dict = {"__name__": "__main__", "In": ["", *A2.setup, cell]}
    for code in [*A2.setup, cell]:
        exec(compile(code, "<ipython-input>", "exec"), ns)
    return ns


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
    import nbformat as nbf

    student = nbf.read(ROOT / "notebooks" / "A2.ipynb", as_version=4)
    ex = A2.exercise("rnn_backward")
    assert ex.rules and ex.worth
    assert all(abs(ex.case_points(c) * 10 - round(ex.case_points(c) * 10)) < 1e-9 for c in ex.cases)
    index = next(i for i, c in enumerate(student.cells)
                 if c.cell_type == "code" and first_line(c.source) == "# GRADED: rnn_backward")
    assert "\n    Rules: " in student.cells[index].source
    assert "raise NotImplementedError" in student.cells[index].source
    before = next(c.source for c in reversed(student.cells[:index]) if c.cell_type == "markdown")
    assert "**Rules** (checked by `check` and by the grader)" in before
