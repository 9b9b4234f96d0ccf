"""The rules of A1, A4, A5 and A6 on real submissions: shortcuts score 0, honest variants full marks.

Each submission is a reference notebook with some graded cells replaced. A
shortcut (a call into `course`, a Keras loss, a library softmax, ...) costs its
exercise every case, with the rule's words; a different but honest
implementation keeps full marks. Every submission of the four lessons is graded
in one run of the grader.
"""

from __future__ import annotations

import pytest
from lesson_submissions import (ROOT, assert_full_marks, assert_rule_broken, assert_rules_stated, exercise,
                                grade_submissions, kernel_with, rule_text, solution)

from autograder.authoring.student import load_assignment
from autograder.check import check

LESSONS = ("A1", "A4", "A5", "A6")
ALL_LESSONS = tuple(p.stem for p in sorted((ROOT / "solutions").glob("*.ipynb")))

# ------------------------------------------------------------------------------------------------- A1
A1_UNIFORM_VIA_COURSE = '''# GRADED: uniform_perplexity
def uniform_perplexity(tokens, vocabulary):
    from course import metrics as m
    known = set(vocabulary)
    probs = [1.0 / len(known) if t in known or "<unk>" in known else 0.0 for t in tokens]
    with np.errstate(divide="ignore"):
        return m.perplexity_from_log_likelihood(float(np.sum(np.log(probs))), len(tokens))
'''
A1_UNIFORM_RETURNS_V = '''# GRADED: uniform_perplexity
def uniform_perplexity(tokens, vocabulary):
    return float(len(vocabulary))
'''
A1_GMEAN_AT_RUN_TIME = '''# GRADED: sequence_perplexity
def sequence_perplexity(probs):
    p = np.asarray(probs, dtype=np.float64)
    g = getattr(__import__("statis" + "tics"), "geometric_mean")(np.where(p > 0, p, 1.0))
    return math.inf if np.any(p == 0) else float(1.0 / g)
'''
A1_HONEST = {
    "ngram_counts": '''# GRADED: ngram_counts
def ngram_counts(tokens, n):
    counts = {}
    for start in range(len(tokens) - n + 1):
        gram = tuple(tokens[start:start + n])
        counts[gram] = counts.get(gram, 0) + 1
    return counts
''',
    "sequence_perplexity": '''# GRADED: sequence_perplexity
def sequence_perplexity(probs):
    logs = []
    for p in probs:
        if p == 0:
            return math.inf
        logs.append(math.log(p))
    mean_nll = -math.fsum(logs) / len(logs)
    return math.exp(mean_nll) if mean_nll < 709 else math.inf
''',
    "uniform_perplexity": '''# GRADED: uniform_perplexity
def uniform_perplexity(tokens, vocabulary):
    lookup = dict.fromkeys(vocabulary, 1.0 / len(vocabulary))
    unknown = lookup.get("<unk>", 0.0)
    return sequence_perplexity(np.array([lookup.get(t, unknown) for t in tokens]))
''',
}

# ------------------------------------------------------------------------------------------------- A4
A4_KERAS_MODEL = '''# GRADED: predict_from_weights
def predict_from_weights(token_ids, weights, pooling="max"):
    vocab, E = weights["embedding"].shape
    H = weights["forward"][1].shape[0]
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(vocab, E, mask_zero=True)(inputs)
    rnn = layers.GRU(H, return_sequences=pooling == "max")
    if weights["backward"] is not None:
        rnn = layers.Bidirectional(rnn)
    x = rnn(x)
    if pooling == "max":
        x = MaskedGlobalMaxPooling1D()(x)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    gru = list(weights["forward"]) + (list(weights["backward"]) if weights["backward"] is not None else [])
    model.set_weights([weights["embedding"], *gru, weights["dense_kernel"], weights["dense_bias"]])
    return np.asarray(model(np.asarray(token_ids)))[:, 0].astype(np.float32)
'''
A4_PAD_SEQUENCES = '''# GRADED: encode_reviews
from keras.utils import pad_sequences as pad


def encode_reviews(texts, word_index, max_len):
    ids = [[word_index.get(t, 1) for t in tokenize(text)] for text in texts]
    return pad(ids, maxlen=max_len, padding="post", truncating="pre", dtype="int32")
'''
A4_HONEST = {
    "encode_reviews": '''# GRADED: encode_reviews
def encode_reviews(texts, word_index, max_len):
    rows = []
    for text in texts:
        ids = [word_index[t] if t in word_index else 1 for t in tokenize(text)]
        ids = ids[max(0, len(ids) - max_len):]
        rows.append(ids + [0] * (max_len - len(ids)))
    return np.array(rows, dtype=np.int32).reshape(len(texts), max_len)
''',
    "predict_from_weights": '''# GRADED: predict_from_weights
def predict_from_weights(token_ids, weights, pooling="max"):
    ids = np.asarray(token_ids)
    real = ids != 0  # (N, T)
    x = weights["embedding"][ids]  # (N, T, E): the whole batch at once, padding held back by hand

    def states(cell, steps):
        h = np.zeros((len(ids), cell.units), np.float32)
        out = np.zeros(ids.shape + (cell.units,), np.float32)
        for t in steps:
            new, _ = cell(x[:, t], [h])
            h = np.where(real[:, t:t + 1], np.asarray(new), h)  # a padded step leaves the state alone
            out[:, t] = h
        return out

    T = ids.shape[1]
    forward = states(gru_cell_from_weights(*weights["forward"]), range(T))
    parts = [forward]
    if weights["backward"] is not None:
        parts.append(states(gru_cell_from_weights(*weights["backward"]), range(T - 1, -1, -1)))
    if pooling == "max":
        features = np.where(real[..., None], np.concatenate(parts, axis=-1), -np.inf).max(axis=1)
    else:
        last = real.sum(axis=1) - 1
        features = np.concatenate([forward[np.arange(len(ids)), last]] + [p[:, 0] for p in parts[1:]], axis=-1)
    logits = features @ weights["dense_kernel"][:, 0] + weights["dense_bias"][0]
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
''',
}

# ------------------------------------------------------------------------------------------------- A5
A5_ACCURACY_VIA_COURSE = '''# GRADED: masked_accuracy
from course.metrics import masked_accuracy as course_accuracy


def masked_accuracy(tag_ids, logits):
    return tf.constant(course_accuracy(tag_ids, logits, tag_ids != 0), tf.float32)
'''
A5_KERAS_LOSS_AT_RUN_TIME = '''# GRADED: masked_loss
def masked_loss(tag_ids, logits):
    loss = getattr(keras.losses, "Sparse" + "CategoricalCrossentropy")(from_logits=True, reduction="sum")
    mask = tf.cast(tag_ids != 0, logits.dtype)
    return loss(tag_ids, logits, sample_weight=mask) / tf.reduce_sum(mask)
'''
A5_HONEST = {
    "masked_loss": '''# GRADED: masked_loss
def masked_loss(tag_ids, logits):
    log_probs = tf.nn.log_softmax(logits)  # (B, T, C)
    picked = tf.gather(log_probs, tf.cast(tag_ids, tf.int32), batch_dims=2)  # (B, T)
    real = tf.cast(tf.not_equal(tag_ids, 0), logits.dtype)
    return -tf.reduce_sum(picked * real) / tf.reduce_sum(real)
''',
    "masked_accuracy": '''# GRADED: masked_accuracy
def masked_accuracy(tag_ids, logits):
    real = tf.not_equal(tag_ids, 0)
    right = tf.logical_and(real, tf.equal(tf.argmax(logits, -1, output_type=tag_ids.dtype), tag_ids))
    return tf.math.count_nonzero(right, dtype=tf.float32) / tf.math.count_nonzero(real, dtype=tf.float32)
''',
}

# ------------------------------------------------------------------------------------------------- A6
A6_PERPLEXITY_VIA_COURSE = '''# GRADED: perplexity_from_logits
from course import metrics as evaluation
def perplexity_from_logits(logits, targets, mask=None):
    return evaluation.perplexity_from_logits(logits, targets, mask)
'''
A6_PERPLEXITY_VIA_DYNAMIC_IMPORT = '''# GRADED: perplexity_from_logits
import importlib


def perplexity_from_logits(logits, targets, mask=None):
    library = importlib.import_module("course." + "metrics")
    return library.perplexity_from_logits(logits, targets, mask)
'''
A6_TF_SOFTMAX = '''# GRADED: sample_next
from tensorflow import nn as tnn


def sample_next(logits, temperature, seed):
    z = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return np.argmax(z, axis=-1).astype(np.int64)
    p = tnn.softmax(z / temperature).numpy()
    u = np.random.default_rng(seed).random(z.shape[0])
    return np.minimum((np.cumsum(p, axis=-1) <= u[:, None]).sum(axis=-1), z.shape[-1] - 1).astype(np.int64)
'''
A6_HONEST = {
    "perplexity_from_logits": '''# GRADED: perplexity_from_logits
def perplexity_from_logits(logits, targets, mask=None):
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=-1)  # (B, T)
    log_norm = top + np.log(np.exp(z - top[..., None]).sum(axis=-1))  # (B, T)
    true = np.take_along_axis(z, np.asarray(targets, dtype=np.int64)[..., None], axis=-1)[..., 0]
    weight = np.ones_like(true) if mask is None else np.asarray(mask, dtype=np.float64)
    return float(np.exp(((log_norm - true) * weight).sum() / weight.sum()))
''',
    "build_char_lm": '''# GRADED: build_char_lm
def build_char_lm(vocab_size, embed_dim, hidden, num_layers, dropout):
    stack = [keras.Input((None,), dtype="int32"), keras.layers.Embedding(vocab_size, embed_dim)]
    for _ in range(num_layers):
        stack += [keras.layers.GRU(hidden, return_sequences=True), keras.layers.Dropout(dropout)]
    return keras.Sequential(stack + [keras.layers.Dense(vocab_size)])
''',
    "sample_next": '''# GRADED: sample_next
def sample_next(logits, temperature, seed):
    z = np.array(logits, dtype=np.float64)
    if temperature == 0:
        return z.argmax(axis=-1).astype(np.int64)
    z = z / temperature
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = np.random.default_rng(seed).random(len(z))
    picks = [min(int(np.searchsorted(np.cumsum(row), draw, side="right")), len(row) - 1) for row, draw in zip(p, u)]
    return np.array(picks, dtype=np.int64)
''',
}

# submission -> (lesson, replaced cells)
SUBMISSIONS = {
    "A1_uniform_via_course": ("A1", {"uniform_perplexity": A1_UNIFORM_VIA_COURSE}),
    "A1_uniform_returns_V": ("A1", {"uniform_perplexity": A1_UNIFORM_RETURNS_V}),
    "A1_gmean_at_run_time": ("A1", {"sequence_perplexity": A1_GMEAN_AT_RUN_TIME}),
    "A1_honest": ("A1", A1_HONEST),
    "A4_keras_model": ("A4", {"predict_from_weights": A4_KERAS_MODEL}),
    "A4_pad_sequences": ("A4", {"encode_reviews": A4_PAD_SEQUENCES}),
    "A4_honest": ("A4", A4_HONEST),
    "A5_accuracy_via_course": ("A5", {"masked_accuracy": A5_ACCURACY_VIA_COURSE}),
    "A5_keras_loss_at_run_time": ("A5", {"masked_loss": A5_KERAS_LOSS_AT_RUN_TIME}),
    "A5_honest": ("A5", A5_HONEST),
    "A6_perplexity_via_course": ("A6", {"perplexity_from_logits": A6_PERPLEXITY_VIA_COURSE}),
    "A6_perplexity_via_dynamic_import": ("A6", {"perplexity_from_logits": A6_PERPLEXITY_VIA_DYNAMIC_IMPORT}),
    "A6_tf_softmax": ("A6", {"sample_next": A6_TF_SOFTMAX}),
    "A6_honest": ("A6", A6_HONEST),
}
# submission -> (exercise that must score 0, words the message must hold besides the rule's text)
BROKEN = {
    "A1_uniform_via_course": ("uniform_perplexity", "imports `course.metrics`"),
    "A1_gmean_at_run_time": ("sequence_perplexity", "called `statistics.geometric_mean` while running"),
    "A4_keras_model": ("predict_from_weights", "uses `keras.layers.GRU`"),
    "A4_pad_sequences": ("encode_reviews", "imports `keras.utils.pad_sequences`"),
    "A5_accuracy_via_course": ("masked_accuracy", "imports `course.metrics.masked_accuracy`"),
    "A5_keras_loss_at_run_time": ("masked_loss", "called `keras.losses.*` while running"),
    "A6_perplexity_via_course": ("perplexity_from_logits", "imports `course.metrics`"),
    "A6_perplexity_via_dynamic_import": ("perplexity_from_logits", "called `course.*` while running"),
    "A6_tf_softmax": ("sample_next", "uses `tensorflow.nn.softmax`"),
}


@pytest.fixture(scope="module")
def graded(roomy_sandbox, tmp_path_factory):
    return grade_submissions(SUBMISSIONS, roomy_sandbox, tmp_path_factory.mktemp("lesson-rules"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_shortcut_costs_its_exercise_with_the_rules_words(graded, name):
    lesson, _ = SUBMISSIONS[name]
    target, words = BROKEN[name]
    assert_rule_broken(graded[name], lesson, target, words)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_honest_variants_keep_full_marks(graded, lesson):
    assert_full_marks(graded[f"{lesson}_honest"])


@pytest.mark.slow
def test_returning_the_vocabulary_size_no_longer_passes(graded):
    uniform = exercise(graded["A1_uniform_returns_V"], "uniform_perplexity")
    failed = {c.name for c in uniform.cases if not c.passed}
    assert failed == {"a word the model cannot produce", "the last word unknown, no <unk>"}, failed
    assert uniform.points <= uniform.max_points / 2 + 1e-9


@pytest.mark.parametrize("lesson", ALL_LESSONS)
def test_every_exercise_has_rules_points_and_says_so_before_the_grade(lesson):
    for ex in load_assignment(solution(lesson)).exercises:
        assert ex.rules and ex.worth, f"{lesson} {ex.name}: rules and worth must be set"
        shares = [ex.case_points(c) for c in ex.cases]
        assert all(abs(s * 10 - round(s * 10)) < 1e-9 for s in shares), f"{ex.name}: case points {shares}"
        assert_rules_stated(lesson, ex.name)


CHECKED = {  # the same shortcuts in a student's kernel: check says what the grader will
    "A1": ("uniform_perplexity", A1_UNIFORM_VIA_COURSE, "imports `course.metrics`"),
    "A5": ("masked_accuracy", A5_ACCURACY_VIA_COURSE, "imports `course.metrics.masked_accuracy`"),
    "A6": ("perplexity_from_logits", A6_PERPLEXITY_VIA_COURSE, "imports `course.metrics`"),
}


@pytest.mark.parametrize("lesson", sorted(CHECKED))
def test_check_refuses_the_shortcut_in_the_students_kernel(lesson):
    name, cell, words = CHECKED[lesson]
    report = check(name, lesson, kernel_with(lesson, name, cell), quiet=True)
    assert report.passed == 0 and report.total > 0
    assert rule_text(lesson, name) in str(report) and words in str(report), str(report)
