"""Honest work the rules used to refuse: compiled functions (`tf.function`, with any options), the scan's
other spellings (`tf.compat.v1.scan`, `keras.ops.scan`), and `check` run twice in one kernel.

Each variant gets full marks from the grader and from `check`, every time `check` is asked; the
shortcuts stay refused (a compiled Python loop, a dummy scan beside the real loop in `while`).
"""

from __future__ import annotations

import pytest
from lesson_submissions import (assert_full_marks, assert_rule_broken, grade_submissions, kernel_with, rule_text,
                                solution)

from autograder.authoring.student import load_assignment
from autograder.check import check

A2_FORWARD = load_assignment(solution("A2")).cells["rnn_forward"]
A3_GRU_FORWARD = load_assignment(solution("A3")).cells["gru_forward"]


def _compiled(source: str, name: str, decorator: str) -> str:
    return source.replace(f"def {name}(", f"{decorator}\ndef {name}(", 1)


HONEST = {
    "a2_tf_function": ("A2", "rnn_forward", _compiled(A2_FORWARD, "rnn_forward", "@tf.function")),
    "a2_jit": ("A2", "rnn_forward", _compiled(A2_FORWARD, "rnn_forward", "@tf.function(jit_compile=False)")),
    "a2_compat_scan": ("A2", "rnn_forward", A2_FORWARD.replace("tf.scan(", "tf.compat.v1.scan(")),
    "a3_reduce_retracing": ("A3", "gru_forward",
                            _compiled(A3_GRU_FORWARD, "gru_forward", "@tf.function(reduce_retracing=True)")),
}
KERAS_OPS_SCAN = A2_FORWARD.replace(
    "    def one_step(h_prev, x_t):  # (B, H), (B, D) -> (B, H)\n        return rnn_step(x_t, h_prev, W_x, W_h, b_h)\n",
    "    def one_step(h_prev, x_t):  # (B, H), (B, D) -> (B, H)\n        h = rnn_step(x_t, h_prev, W_x, W_h, b_h)\n"
    "        return h, h\n",
).replace("states_time_major = tf.scan(one_step, x_time_major, initializer=h0)",
          "_, states_time_major = keras.ops.scan(one_step, h0, x_time_major)").replace(
    "def rnn_forward(", "import keras\n\n\ndef rnn_forward(", 1)
HONEST["a2_keras_ops_scan"] = ("A2", "rnn_forward", KERAS_OPS_SCAN)
COMPILED_LOOP = _compiled('''# GRADED: rnn_forward
def rnn_forward(x, h0, W_x, W_h, b_h):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, W_x, W_h, b_h)
        hs.append(h)
    tf.scan(lambda a, b: a, tf.zeros((1,)), initializer=tf.zeros(()))
    return tf.stack(hs, axis=1), h
''', "rnn_forward", "@tf.function")


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compiled")
    subs = {name: (lesson, {exercise: cell}) for name, (lesson, exercise, cell) in HONEST.items()}
    subs["a2_compiled_loop"] = ("A2", {"rnn_forward": COMPILED_LOOP})
    return grade_submissions(subs, roomy_sandbox, folder)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_variants_keep_full_marks_in_the_grader(graded, name):
    assert_full_marks(graded[name])


@pytest.mark.slow
def test_a_compiled_python_loop_is_still_refused(graded):
    assert_rule_broken(graded["a2_compiled_loop"], "A2", "rnn_forward", "loops in Python")


@pytest.mark.parametrize("name", sorted(HONEST))
def test_check_agrees_every_time_it_is_asked(name):
    lesson, exercise, cell = HONEST[name]
    kernel = kernel_with(lesson, exercise, cell)
    for attempt in range(2):  # the second call reuses the compiled trace: no Python of the function runs
        report = check(exercise, lesson, kernel, quiet=True)
        assert report.passed == report.total > 0, (attempt, report.lines)


def test_check_refuses_the_compiled_loop_every_time():
    kernel = kernel_with("A2", "rnn_forward", COMPILED_LOOP)
    for _ in range(2):
        report = check("rnn_forward", "A2", kernel, quiet=True)
        assert report.passed == 0 and any(rule_text("A2", "rnn_forward") in line for line in report.lines)
