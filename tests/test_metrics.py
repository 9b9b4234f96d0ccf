import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.metrics import (
    MaskedAccuracy,
    masked_accuracy,
    masked_sparse_crossentropy,
    per_tag_scores,
    perplexity_from_log_likelihood,
    perplexity_from_logits,
    perplexity_from_mean_nll,
    perplexity_from_probs,
)

RNG = np.random.default_rng(0)


def one_hot(targets, V):
    return np.eye(V)[targets]


# ----------------------------------------------------------------------------- anchor cases
def test_perfect_model_has_perplexity_one():
    targets = np.array([[1, 2, 3], [0, 4, 2]])
    assert perplexity_from_probs(one_hot(targets, 5), targets) == pytest.approx(1.0)
    logits = np.where(one_hot(targets, 5) > 0, 0.0, -np.inf)
    assert perplexity_from_logits(logits, targets) == pytest.approx(1.0)
    assert perplexity_from_log_likelihood(0.0, 6) == pytest.approx(1.0)


def test_zero_probability_label_gives_infinity():
    targets = np.array([[1, 2]])
    probs = one_hot(np.array([[1, 3]]), 5)  # second label gets probability 0
    with np.errstate(all="raise"):  # no hidden warnings either
        value = perplexity_from_probs(probs, targets)
    assert value == math.inf
    assert perplexity_from_logits(np.log(np.where(probs > 0, 1.0, 1e-300)) * 10, targets) == math.inf
    assert perplexity_from_log_likelihood(-math.inf, 2) == math.inf
    assert perplexity_from_mean_nll(math.inf) == math.inf


def test_zero_probability_on_padding_is_ignored():
    targets = np.array([[1, 2]])
    probs = one_hot(np.array([[1, 3]]), 5)
    assert perplexity_from_probs(probs, targets, mask=[[1, 0]]) == pytest.approx(1.0)


@pytest.mark.parametrize("V", [2, 7, 1000])
def test_uniform_model_gives_vocabulary_size(V):
    targets = RNG.integers(0, V, size=(3, 4))
    assert perplexity_from_probs(np.full((3, 4, V), 1.0 / V), targets) == pytest.approx(V)
    assert perplexity_from_logits(np.zeros((3, 4, V)), targets) == pytest.approx(V)
    assert perplexity_from_logits(tf.fill((3, 4, V), 3.5), tf.constant(targets)) == pytest.approx(V)


# ----------------------------------------------------------------------------- masking
def test_masked_perplexity_matches_hand_computation():
    B, T, V = 3, 5, 6
    logits = RNG.normal(size=(B, T, V)) * 3
    targets = RNG.integers(0, V, size=(B, T))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    # By hand: softmax, then keep only the unmasked (b, t) pairs.
    nll = []
    for b in range(B):
        for t in range(T):
            if mask[b, t]:
                p = np.exp(logits[b, t]) / np.exp(logits[b, t]).sum()
                nll.append(-np.log(p[targets[b, t]]))
    expected = float(np.exp(np.mean(nll)))
    assert perplexity_from_logits(logits, targets, mask) == pytest.approx(expected, rel=1e-9)
    assert perplexity_from_logits(logits, targets, mask.astype(np.float32)) == pytest.approx(expected, rel=1e-9)
    probs = tf.nn.softmax(tf.constant(logits)).numpy()
    assert perplexity_from_probs(probs, targets, tf.constant(mask)) == pytest.approx(expected, rel=1e-9)
    assert masked_sparse_crossentropy(targets, logits, mask) == pytest.approx(np.mean(nll), rel=1e-9)
    # Padding changes the answer when it is not masked (the test can fail).
    assert perplexity_from_logits(logits, targets) != pytest.approx(expected, rel=1e-6)


def test_masked_crossentropy_matches_keras():
    logits = RNG.normal(size=(2, 4, 5)).astype(np.float32)
    targets = RNG.integers(0, 5, size=(2, 4))
    ref = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True).numpy().mean()
    assert masked_sparse_crossentropy(targets, logits) == pytest.approx(float(ref), rel=1e-5)


def test_masked_accuracy_ignores_padding():
    y_true = np.array([[3, 1, 2, 0, 0], [2, 2, 0, 0, 0]])
    y_pred = np.array([[3, 1, 1, 5, 5], [2, 2, 4, 4, 4]])  # wrong everywhere on padding
    mask = y_true != 0
    assert masked_accuracy(y_true, y_pred, mask) == pytest.approx(4 / 5)
    assert masked_accuracy(y_true, y_pred) == pytest.approx(4 / 10)
    logits = one_hot(y_pred, 6)
    assert masked_accuracy(tf.constant(y_true), tf.constant(logits), mask) == pytest.approx(4 / 5)


def test_keras_masked_accuracy_metric():
    y_true = np.array([[3, 1, 2, 0, 0], [2, 2, 0, 0, 0]])
    logits = one_hot(np.array([[3, 1, 1, 5, 5], [2, 2, 4, 4, 4]]), 6)
    metric = MaskedAccuracy()
    metric.update_state(y_true, logits)
    assert float(metric.result()) == pytest.approx(4 / 5)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    other = MaskedAccuracy(pad_id=5)
    other.update_state(np.array([[1, 5]]), np.array([[1, 2]]))
    assert float(other.result()) == pytest.approx(1.0)
    assert MaskedAccuracy.from_config(other.get_config()).pad_id == 5


def test_masked_accuracy_in_compile_and_fit():
    x = RNG.integers(1, 6, size=(16, 7))
    x[:, 5:] = 0  # padding
    model = keras.Sequential([keras.Input((7,)), keras.layers.Embedding(6, 8), keras.layers.Dense(6)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[MaskedAccuracy()])
    history = model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    assert "masked_accuracy" in history.history
    preds = model.predict(x, verbose=0)
    expected = masked_accuracy(x, preds, x != 0)
    assert model.evaluate(x, x, verbose=0, return_dict=True)["masked_accuracy"] == pytest.approx(expected, abs=1e-6)


# ----------------------------------------------------------------------------- per-tag scores
def test_per_tag_scores_hand_computed():
    y_true = ["N", "V", "N", "D", "N", "V"]
    y_pred = ["N", "N", "N", "D", "V", "V"]
    s = per_tag_scores(y_true, y_pred)
    # N: tp=2, predicted 3, true 3 ; V: tp=1, predicted 2, true 2 ; D: perfect.
    assert s["N"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert s["V"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert s["D"]["f1"] == pytest.approx(1.0)
    assert s["macro_avg"]["f1"] == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert s["macro_avg"]["support"] == 6


def test_per_tag_scores_with_mask_and_labels():
    y_true = np.array([[1, 2, 0], [2, 2, 0]])
    y_pred = np.array([[1, 1, 2], [2, 1, 1]])
    s = per_tag_scores(y_true, y_pred, labels=[1, 2], mask=y_true != 0)
    # unmasked pairs: (1,1) (2,1) (2,2) (2,1): tag 1 p=1/3 r=1; tag 2 p=1 r=1/3
    assert s[1]["precision"] == pytest.approx(1 / 3) and s[1]["recall"] == pytest.approx(1.0)
    assert s[2]["precision"] == pytest.approx(1.0) and s[2]["recall"] == pytest.approx(1 / 3)
    assert s[1]["f1"] == pytest.approx(0.5) and s[2]["f1"] == pytest.approx(0.5)
    assert 0 not in s
    ragged = per_tag_scores([["a", "b"], ["a"]], [["a", "a"], ["b"]])
    assert ragged["a"]["support"] == 2 and ragged["a"]["precision"] == pytest.approx(0.5)


def test_per_tag_scores_against_sklearn():
    from sklearn import metrics  # an independent reference (a test dependency)

    y_true = RNG.integers(0, 4, size=200)
    y_pred = np.where(RNG.random(200) < 0.6, y_true, RNG.integers(0, 4, size=200))
    s = per_tag_scores(y_true, y_pred)
    p, r, f, sup = metrics.precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2, 3], zero_division=0)
    for i in range(4):
        assert s[i]["f1"] == pytest.approx(f[i]) and s[i]["support"] == sup[i]


# ----------------------------------------------------------------------------- input errors
def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="shape"):
        perplexity_from_logits(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        perplexity_from_logits(np.zeros((2, 3, 4)), np.full((2, 3), 4))
    with pytest.raises(ValueError, match="mask"):
        perplexity_from_logits(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int), mask=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="integer"):
        perplexity_from_probs(np.full((1, 2, 2), 0.5), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="probabilities"):
        perplexity_from_probs(np.full((1, 2, 2), -0.5), np.zeros((1, 2), dtype=int))
    with pytest.raises(ValueError, match="positive"):
        perplexity_from_log_likelihood(-1.0, 0)
