"""A6's `train_step` and `generate`: shortcuts score 0 with the rule's words, honest variants full marks.

Each submission is the reference notebook with some graded cells replaced, graded
by the real grader in its sandbox (the probes that build a model, an optimizer or
a toy language model from plain data run there too). `check` in a student's
kernel says the same about a shortcut.
"""

from __future__ import annotations

import pytest
from lesson_submissions import (assert_full_marks, assert_rule_broken, exercise, grade_submissions, kernel_with,
                                rule_text)

from autograder.check import check

STEP_VIA_COURSE = '''# GRADED: train_step
from course import training
def train_step(model, optimizer, x, y, clip_norm):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logs = training.train_step(model, optimizer, loss_fn, x, y, clip_norm)
    return logs["loss"], logs["grad_norm"]
'''
STEP_VIA_TRAIN_ON_BATCH = '''# GRADED: train_step
def train_step(model, optimizer, x, y, clip_norm):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    norm = tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables))
    optimizer.global_clipnorm = clip_norm
    model.compile(optimizer=optimizer, loss=loss_fn)
    model.train_on_batch(x, y)
    return loss, norm
'''
STEP_WITHOUT_TAPE = '''# GRADED: train_step
def train_step(model, optimizer, x, y, clip_norm):
    logits = model(x, training=True)
    loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    return loss, tf.constant(0.0)
'''
GENERATE_VIA_COURSE = '''# GRADED: generate
import course.generation as library


def generate(step, prompt_ids, n_chars, temperature=1.0, top_k=0, seed=0):
    def sampler(z, i):
        if top_k:
            z = np.where(z >= np.sort(z, axis=-1)[:, [-min(top_k, z.shape[-1])]], z, -np.inf)
        return sample_next(z, temperature, seed + i)
    return library.generate(lambda ids, state: step(ids, state), np.asarray(prompt_ids), n_chars, sampler)
'''
GENERATE_TF_CATEGORICAL = '''# GRADED: generate
def generate(step, prompt_ids, n_chars, temperature=1.0, top_k=0, seed=0):
    logits, state = step(np.asarray(prompt_ids, dtype=np.int32), None)
    out = []
    for i in range(n_chars):
        z = np.asarray(logits)[:, -1] / max(temperature, 1e-6)
        ids = tf.random.categorical(z, 1, seed=seed + i).numpy()[:, 0]
        out.append(ids)
        logits, state = step(ids[:, None].astype(np.int32), state)
    return np.stack(out, axis=1).astype(np.int64) if out else np.zeros((len(prompt_ids), 0), np.int64)
'''
HONEST = {
    "train_step": '''# GRADED: train_step
def train_step(model, optimizer, x, y, clip_norm):
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        log_probs = tf.nn.log_softmax(model(x, training=True), axis=-1)  # (B, T, V)
        picked = tf.gather(log_probs, tf.cast(y, tf.int32), batch_dims=2)  # (B, T)
        loss = -tf.reduce_sum(picked) / tf.cast(tf.size(picked), picked.dtype)
    grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]  # dense, embedding included
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(g * g) for g in grads]))
    scale = tf.minimum(1.0, clip_norm / norm)
    optimizer.apply_gradients([(g * scale, v) for g, v in zip(grads, variables)])
    return loss, norm
''',
    "generate": '''# GRADED: generate
def generate(step, prompt_ids, n_chars, temperature=1.0, top_k=0, seed=0):
    prompt = np.array(prompt_ids, dtype=np.int32)
    written = np.empty((len(prompt), n_chars), dtype=np.int64)
    if n_chars < 1:
        return written
    logits, state = step(prompt, None)
    i = 0
    while True:
        scores = np.asarray(logits, dtype=np.float64)[:, -1, :].copy()
        V = scores.shape[1]
        if 0 < top_k < V:
            drop = np.argpartition(scores, V - top_k, axis=1)[:, :V - top_k]  # every id outside the top k
            np.put_along_axis(scores, drop, -np.inf, axis=1)
        written[:, i] = sample_next(scores, temperature, seed + i)
        i += 1
        if i == n_chars:
            return written
        logits, state = step(written[:, i - 1:i].astype(np.int32), state)
''',
}

SUBMISSIONS = {
    "step_via_course": {"train_step": STEP_VIA_COURSE},
    "step_via_train_on_batch": {"train_step": STEP_VIA_TRAIN_ON_BATCH},
    "step_without_tape": {"train_step": STEP_WITHOUT_TAPE},
    "generate_via_course": {"generate": GENERATE_VIA_COURSE},
    "generate_tf_categorical": {"generate": GENERATE_TF_CATEGORICAL},
    "honest": HONEST,
}
# submission -> (exercise that must score 0, words the message must hold besides the rule's text)
BROKEN = {
    "step_via_course": ("train_step", "imports `course.training`"),
    "step_via_train_on_batch": ("train_step", "keras.Model.train_on_batch"),
    "step_without_tape": ("train_step", "never calls `tf.GradientTape`"),
    "generate_via_course": ("generate", "imports `course.generation`"),
    "generate_tf_categorical": ("generate", "tensorflow.random.categorical"),
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    submissions = {name: ("A6", cells) for name, cells in SUBMISSIONS.items()}
    return grade_submissions(submissions, roomy_sandbox, tmp_path_factory.mktemp("a6-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_shortcut_costs_its_exercise_with_the_rules_words(graded, name):
    target, words = BROKEN[name]
    assert_rule_broken(graded[name], "A6", target, words)


@pytest.mark.slow
def test_honest_variants_keep_full_marks(graded):
    result = graded["honest"]
    assert_full_marks(result)
    for name in ("train_step", "generate"):
        assert len(exercise(result, name).cases) >= 5


def namespace_with(cell: str, name: str) -> dict:
    return kernel_with("A6", name, cell)


@pytest.mark.parametrize("name, cell, words", [
    ("train_step", STEP_VIA_COURSE, "imports `course.training`"),
    ("generate", GENERATE_VIA_COURSE, "imports `course.generation`"),
])
def test_check_refuses_the_shortcut_in_the_students_kernel(name, cell, words):
    report = check(name, "A6", namespace_with(cell, name), quiet=True)
    assert report.passed == 0 and report.total > 0
    assert rule_text("A6", name) in str(report) and words in str(report), str(report)


@pytest.mark.parametrize("name", ["train_step", "generate"])
def test_check_passes_the_honest_variant_in_the_students_kernel(name):
    report = check(name, "A6", namespace_with(HONEST[name], name), quiet=True)
    assert report.ok, str(report)


def test_the_toy_model_carries_its_state():
    """Reading a prompt in one call or one id at a time gives the same logits and state."""
    import numpy as np

    ns = namespace_with(HONEST["generate"], "generate")
    toy = ns["ToyLM"](np.random.default_rng(0).normal(size=(5, 5)), mix=0.7)
    prompt = np.array([[1, 4, 2, 0], [3, 3, 1, 2]])
    whole, state = toy(prompt, None)
    h = None
    for t in range(prompt.shape[1]):
        part, h = toy(prompt[:, t:t + 1], h)
        np.testing.assert_allclose(part[:, 0], whole[:, t])
    np.testing.assert_allclose(h, state)
    assert not np.allclose(toy(prompt[:, -1:], None)[0][:, 0], whole[:, -1])  # the state matters
