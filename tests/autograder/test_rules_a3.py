"""A3's bidirectional and stacked GRUs on real submissions: shortcuts score 0, honest variants full marks.

Each submission is A3's reference notebook with some graded cells replaced. A
Keras wrapper or recurrent layer (named in the cell, or reached at run time)
costs its exercise every case with the rule's words, and so does a right
answer computed without the student's own `gru_forward` (found on the syntax
tree, or at run time when the name is only mentioned); reversing the padding
along with the real steps breaks the padded cases, hidden ones included; a
differently written but honest implementation keeps full marks.
"""

from __future__ import annotations

import pytest
from lesson_submissions import (assert_full_marks, assert_rule_broken, assert_rules_stated, exercise, grade_submissions,
                                kernel_with, rule_text, solution)

from autograder.authoring.student import load_assignment
from autograder.check import check

SOLUTION = solution("A3")
NEW = ("bidirectional_forward", "stacked_forward")

KERAS_BIDIRECTIONAL = '''# GRADED: bidirectional_forward
def bidirectional_forward(x, lengths, forward_weights, backward_weights, merge_mode="concat"):
    H = forward_weights[1].shape[0]
    layer = keras.layers.Bidirectional(keras.layers.GRU(H, return_sequences=True), merge_mode=merge_mode)
    mask = tf.sequence_mask(lengths, tf.shape(x)[1])
    layer(x, mask=mask)
    layer.set_weights([w.numpy() for w in list(forward_weights) + list(backward_weights)])
    return layer(x, mask=mask)
'''

KERAS_GRU_AT_RUN_TIME = '''# GRADED: stacked_forward
def stacked_forward(x, lengths, layers):
    mask = tf.sequence_mask(lengths, tf.shape(x)[1])
    h = x
    for kernel, recurrent_kernel, bias in layers:
        gru_forward(h, tf.zeros([tf.shape(h)[0], recurrent_kernel.shape[0]]), kernel, recurrent_kernel, bias)  # for show
        rnn = getattr(keras.layers, "G" + "RU")(recurrent_kernel.shape[0], return_sequences=True)
        rnn(h, mask=mask)
        rnn.set_weights([kernel.numpy(), recurrent_kernel.numpy(), bias.numpy()])
        h = rnn(h, mask=mask)
    return h
'''

REVERSES_PADDING_TOO = '''# GRADED: bidirectional_forward
def bidirectional_forward(x, lengths, forward_weights, backward_weights, merge_mode="concat"):
    real = tf.sequence_mask(lengths, tf.shape(x)[1], dtype=x.dtype)[:, :, None]
    h0 = tf.zeros([tf.shape(x)[0], tf.shape(forward_weights[1])[0]])
    forward, _ = gru_forward(x, h0, *forward_weights)
    backward, _ = gru_forward(tf.reverse(x, axis=[1]), h0, *backward_weights)  # the whole row, padding first
    forward, backward = forward * real, tf.reverse(backward, axis=[1]) * real
    if merge_mode == "concat":
        return tf.concat([forward, backward], axis=-1)
    if merge_mode == "sum":
        return forward + backward
    if merge_mode == "ave":
        return (forward + backward) / 2.0
    return forward * backward
'''

HONEST = {
    "bidirectional_forward": '''# GRADED: bidirectional_forward
MERGES = {
    "concat": lambda f, b: tf.concat([f, b], axis=2),
    "sum": tf.add,
    "ave": lambda f, b: 0.5 * (f + b),
    "mul": tf.multiply,
}


def bidirectional_forward(x, lengths, forward_weights, backward_weights, merge_mode="concat"):
    T = tf.shape(x)[1]
    steps = tf.range(T)[None, :]  # (1, T)
    n = tf.cast(lengths, tf.int32)[:, None]  # (B, 1)
    flip = tf.where(steps < n, n - 1 - steps, steps)  # (B, T): a real step's mirror image, padding stays put
    keep = tf.cast(steps < n, x.dtype)[..., None]  # (B, T, 1)

    def direction(inputs, kernel, recurrent_kernel, bias):
        start = tf.zeros(tf.stack([tf.shape(inputs)[0], tf.shape(recurrent_kernel)[0]]))  # (B, H)
        return gru_forward(inputs, start, kernel, recurrent_kernel, bias)[0]

    ahead = direction(x, *forward_weights)
    behind = tf.gather(direction(tf.gather(x, flip, batch_dims=1), *backward_weights), flip, batch_dims=1)
    return MERGES[merge_mode](ahead * keep, behind * keep)
''',
    "stacked_forward": '''# GRADED: stacked_forward
def stacked_forward(x, lengths, layers):
    real = tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None]  # (B, T, 1)
    out = x
    depth = 0
    while depth < len(layers):
        kernel, recurrent_kernel, bias = layers[depth]
        h0 = tf.zeros(tf.stack([tf.shape(out)[0], tf.shape(kernel)[1] // 3]))
        out = gru_forward(out, h0, kernel, recurrent_kernel, bias)[0]
        depth += 1
    final = tf.gather(out, tf.cast(lengths, tf.int32) - 1, batch_dims=1)  # (B, H): the last real output
    return tf.where(real, out, final[:, None, :])
''',
}

OWN_SCAN = '''# GRADED: stacked_forward
def own_gru(inputs, h0, kernel, recurrent_kernel, bias):
    H = tf.shape(recurrent_kernel)[0]

    def step(h, x_t):
        xz, xr, xh = tf.split(x_t @ kernel + bias[0], 3, axis=-1)
        hz, hr, hh = tf.split(h @ recurrent_kernel + bias[1], 3, axis=-1)
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        return z * h + (1.0 - z) * tf.tanh(xh + r * hh)

    return tf.transpose(tf.scan(step, tf.transpose(inputs, [1, 0, 2]), initializer=h0), [1, 0, 2])


def stacked_forward(x, lengths, layers):
    real = tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None]  # (B, T, 1)
    out = x
    for kernel, recurrent_kernel, bias in layers:
        h0 = tf.zeros(tf.stack([tf.shape(out)[0], tf.shape(kernel)[1] // 3]))
        out = own_gru(out, h0, kernel, recurrent_kernel, bias)
    final = tf.gather(out, tf.cast(lengths, tf.int32) - 1, batch_dims=1)  # (B, H): the last real output
    return tf.where(real, out, final[:, None, :])
'''
MENTIONS_GRU_FORWARD_ONLY = OWN_SCAN.replace("def stacked_forward(x, lengths, layers):\n",
                                             "def stacked_forward(x, lengths, layers):\n    unused = gru_forward\n")

# submission -> replaced cells
SUBMISSIONS = {
    "keras_bidirectional": {"bidirectional_forward": KERAS_BIDIRECTIONAL},
    "keras_gru_at_run_time": {"stacked_forward": KERAS_GRU_AT_RUN_TIME},
    "reverses_padding_too": {"bidirectional_forward": REVERSES_PADDING_TOO},
    "own_scan": {"stacked_forward": OWN_SCAN},
    "mentions_gru_forward_only": {"stacked_forward": MENTIONS_GRU_FORWARD_ONLY},
    "honest": HONEST,
}
# submission -> (exercise that must score 0, words the message must hold besides the rule's text)
BROKEN = {
    "keras_bidirectional": ("bidirectional_forward", "uses `keras.layers.Bidirectional`"),
    "keras_gru_at_run_time": ("stacked_forward", "called `keras.layers.GRU*` while running"),
    # right answers, but the student's own gru_forward is not what computes them
    "own_scan": ("stacked_forward", "it never calls `gru_forward`"),
    "mentions_gru_forward_only": ("stacked_forward", "`gru_forward` was never called"),
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: ("A3", cells) for name, cells in SUBMISSIONS.items()}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a3-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_keras_shortcut_costs_its_exercise_with_the_rules_words(graded, name):
    target, words = BROKEN[name]
    assert_rule_broken(graded[name], "A3", target, words)


@pytest.mark.slow
def test_reversing_the_padding_too_fails_the_padded_cases_hidden_ones_included(graded):
    bidirectional = exercise(graded["reverses_padding_too"], "bidirectional_forward")
    assignment = load_assignment(SOLUTION).exercise("bidirectional_forward")
    hidden = {c.name for c in assignment.cases if c.hidden}
    failed = {c.name for c in bidirectional.cases if not c.passed}
    passed = {c.name for c in bidirectional.cases if c.passed}
    assert "concat, no padding" in passed, bidirectional.message  # right where there is no padding
    assert failed & hidden, (failed, hidden)
    assert {"ave, padded rows", "mul, padded rows", "long rows of many lengths"} <= failed, failed
    assert 0 < bidirectional.points < bidirectional.max_points / 2
    rule_text = assignment.rules.describe("bidirectional_forward")
    assert not any(rule_text in c.message for c in bidirectional.cases)  # wrong answers, not a broken rule


@pytest.mark.slow
def test_honest_variants_keep_full_marks(graded):
    assert_full_marks(graded["honest"])


def test_new_exercises_state_their_rules_and_have_hidden_cases():
    assignment = load_assignment(SOLUTION)
    for name in NEW:
        ex = assignment.exercise(name)
        assert ex.rules and ex.worth and "gru_forward" in ex.needs, name
        assert "gru_forward" in ex.rules.require, name
        assert "keras.layers.Bidirectional" in ex.rules.forbid and "course.*" in ex.rules.forbid
        assert any(c.hidden for c in ex.cases) and any(not c.hidden for c in ex.cases)
        assert any(c.symbolic for c in ex.cases if c.hidden), f"{name}: no hidden case with unknown sizes"
        assert_rules_stated("A3", name)


def test_check_refuses_keras_bidirectional_in_the_students_kernel():
    report = check("bidirectional_forward", "A3", kernel_with("A3", "bidirectional_forward", KERAS_BIDIRECTIONAL),
                   quiet=True)
    assert report.passed == 0 and report.total > 0
    text = rule_text("A3", "bidirectional_forward")
    assert text in str(report) and "uses `keras.layers.Bidirectional`" in str(report), str(report)


def test_check_passes_the_honest_variants_in_the_students_kernel():
    for name, cell in HONEST.items():
        report = check(name, "A3", kernel_with("A3", name, cell), quiet=True)
        assert report.passed == report.total > 0, str(report)
