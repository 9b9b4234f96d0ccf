import keras
import numpy as np
import pytest
import tensorflow as tf

from course.training import ClippedTrainStep, ClippingModel, TrainingConfig, clip_by_global_norm, train_step

RNG = np.random.default_rng(0)


def grads_fixture(scale=1.0):
    return [tf.constant(RNG.normal(size=(3, 4)) * scale, tf.float32), None,
            tf.constant(RNG.normal(size=(5,)) * scale, tf.float32)]


@pytest.mark.parametrize("scale, clip", [(10.0, 1.0), (0.01, 1.0), (3.0, 2.5)])
def test_clip_matches_tensorflow(scale, clip):
    grads = grads_fixture(scale)
    clipped, before, after = clip_by_global_norm(grads, clip)
    ref, ref_norm = tf.clip_by_global_norm(grads, clip)
    hand = np.sqrt(sum(np.sum(g.numpy() ** 2) for g in grads if g is not None))
    assert float(before) == pytest.approx(hand, rel=1e-5)
    assert float(ref_norm) == pytest.approx(hand, rel=1e-5)
    assert float(after) == pytest.approx(min(hand, clip), rel=1e-5)
    assert clipped[1] is None
    for mine, theirs in zip(clipped, ref):
        if theirs is not None:
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6)


def test_clip_none_and_validation():
    grads = grads_fixture(10.0)
    same, before, after = clip_by_global_norm(grads, None)
    assert float(before) == float(after) and same[0] is grads[0]
    with pytest.raises(ValueError, match="positive"):
        clip_by_global_norm(grads, 0.0)
    with pytest.raises(TypeError, match="list"):
        clip_by_global_norm(grads[0], 1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainingConfig(learning_rate=0.0)
    assert TrainingConfig().clip_norm == 1.0


def make_model():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])


def test_train_step_applies_clipped_gradients():
    model = make_model()
    x = tf.constant(RNG.normal(size=(8, 4)), tf.float32)
    y = tf.constant(RNG.normal(size=(8, 1)) * 100, tf.float32)  # large loss: clipping is active
    loss_fn = keras.losses.MeanSquaredError()
    before = [w.numpy().copy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:  # independent reference for the step
        ref_loss = loss_fn(y, model(x))
    ref_grads, ref_norm = tf.clip_by_global_norm(tape.gradient(ref_loss, model.trainable_weights), 0.5)
    logs = train_step(model, keras.optimizers.SGD(learning_rate=1.0), loss_fn, x, y, clip_norm=0.5)
    assert float(logs["loss"]) == pytest.approx(float(ref_loss), rel=1e-5)
    assert float(logs["grad_norm"]) == pytest.approx(float(ref_norm), rel=1e-5)
    assert float(logs["grad_norm"]) > 0.5
    assert float(logs["clipped_norm"]) == pytest.approx(0.5, rel=1e-5)
    for w0, g, w in zip(before, ref_grads, model.trainable_weights):
        np.testing.assert_allclose(w.numpy(), w0 - g.numpy(), rtol=1e-5, atol=1e-6)


def test_clipped_train_step_in_a_loop():
    model = make_model()
    step = ClippedTrainStep(model, keras.optimizers.SGD(0.01), keras.losses.MeanSquaredError(), clip_norm=1.0)
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) * 10).astype("float32")
    logs = [step(x, y) for _ in range(5)]
    assert all(isinstance(v, float) for v in logs[0].values())
    assert all(l["clipped_norm"] <= 1.0 + 1e-5 for l in logs)
    assert logs[-1]["loss"] < logs[0]["loss"]


def test_clipping_model_fit_logs_norms():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6, 3))
    outputs = keras.layers.Dense(1)(keras.layers.SimpleRNN(8)(inputs))
    model = ClippingModel(inputs, outputs, clip_norm=0.1)
    model.compile(keras.optimizers.SGD(0.01), "mse", metrics=["mae"])
    x = RNG.normal(size=(32, 6, 3)).astype("float32")
    y = (RNG.normal(size=(32, 1)) * 50).astype("float32")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0).history
    assert {"loss", "mae", "grad_norm", "clipped_grad_norm"} <= set(history)
    assert len(history["grad_norm"]) == 3
    assert all(c <= 0.1 + 1e-5 for c in history["clipped_grad_norm"])
    assert all(g > 0.1 for g in history["grad_norm"])  # the clip was really needed
    assert "loss" in model.evaluate(x, y, verbose=0, return_dict=True)


def test_clipping_model_subclass():
    class Tiny(ClippingModel):
        def __init__(self):
            super().__init__(clip_norm=None)
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model.compile("sgd", "mse")
    history = model.fit(np.ones((4, 2)), np.full((4, 1), 3.0), epochs=1, verbose=0).history
    assert history["grad_norm"][0] == pytest.approx(history["clipped_grad_norm"][0])
