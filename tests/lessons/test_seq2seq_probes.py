"""A7's train-step probe: it builds the same model everywhere and reports what a step did, checked by hand here."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.run.plain import from_plain, to_plain
from autograder.run.probes.seq2seq import small_seq2seq, train_step

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def test_the_small_model_is_the_same_in_every_build():
    a, b = small_seq2seq(7, 5, 3, 4), small_seq2seq(7, 5, 3, 4)
    x, d = np.array([[1, 2, 0]], np.int32), np.array([[1, 3]], np.int32)
    assert a([x, d]).shape == (1, 2, 5)
    np.testing.assert_array_equal(a([x, d]), b([x, d]))


def _call(args):
    return {"function": "step", "args": [to_plain(a) for a in args]}


def test_the_probe_runs_the_step_and_reports_losses_norms_and_weights():
    calls = []

    def step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
        calls.append((end_id, clip_norm, tuple(x.shape)))
        with tf.GradientTape() as tape:
            logits = model([x, decoder_inputs], training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, tf.linalg.global_norm(grads)

    x = np.array([[3, 4, 0], [5, 1, 2]], np.int32)
    d = np.array([[1, 3, 4], [1, 5, 2]], np.int32)
    y = np.array([[3, 4, 2], [5, 2, 0]], np.int32)
    spec = {"in_vocab": 7, "out_vocab": 6, "embed_dim": 3, "hidden": 4}
    out = train_step({"step": step}, _call([spec, {"class_name": "SGD", "config": {"learning_rate": 0.5}},
                                             x, d, y, 2, 1.0, 2]))
    value = from_plain(out["value"])
    assert calls == [(2, 1.0, (2, 3)), (2, 1.0, (2, 3))]
    assert len(value["loss"]) == len(value["grad_norm"]) == 2 and value["loss"][1] < value["loss"][0]
    # the first loss is the untouched model's, computed independently here
    fresh = small_seq2seq(**spec)
    expected = float(np.mean(keras.losses.sparse_categorical_crossentropy(y, fresh([x, d]), from_logits=True)))
    assert value["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert not np.allclose(np.asarray(value["weights"][-1]), fresh.weights[-1].numpy())  # the step changed them


def test_the_probe_refuses_a_step_that_returns_one_value():
    def step(model, optimizer, x, decoder_inputs, targets, end_id, clip_norm):
        return tf.constant(0.0)

    spec = {"in_vocab": 5, "out_vocab": 4, "embed_dim": 2, "hidden": 3}
    z = np.ones((1, 2), np.int32)
    with pytest.raises(TypeError, match=r"\(loss, grad_norm\)"):
        train_step({"step": step}, _call([spec, {"class_name": "SGD", "config": {}}, z, z, z, 2, 1.0, 1]))
