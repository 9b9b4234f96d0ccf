"""Our scan layers against Keras' own: outputs, final states and gradients to 1e-5."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.rnn import (
    ScanBidirectional,
    ScanGRU,
    ScanLSTM,
    ScanSimpleRNN,
    StackedRNN,
    copy_weights,
    from_keras,
    keras_twin,
)

TOL = 1e-5
LAYERS = [ScanSimpleRNN, ScanGRU, ScanLSTM]
SHAPES = [(1, 1, 1, 1), (3, 7, 4, 5), (4, 12, 6, 3)]  # (batch, time, features, units)


def make_inputs(batch, time, features, seed, masked):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, time, features)).astype("float32")
    mask = None
    if masked:
        lengths = rng.integers(1, time + 1, size=batch)
        lengths[0] = time  # one full-length row
        mask = np.arange(time)[None, :] < lengths[:, None]  # (B, T)
    return x, mask


def as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def weighted_sum(t):
    """A scalar in which every element of `t` has its own weight, so gradients differ per position."""
    weights = tf.reshape(tf.sin(tf.cast(tf.range(tf.size(t)), t.dtype)), tf.shape(t))
    return tf.reduce_sum(t * weights)


def outputs_and_grads(layer, x, mask):
    """Forward outputs, then d(sum of outputs)/d(inputs, weights) with GradientTape."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, mask=None if mask is None else tf.constant(mask))
        flat = out if isinstance(out, (list, tuple)) else [out]
        loss = tf.add_n([weighted_sum(o) for o in flat])
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return as_list(out), [np.asarray(g) for g in grads]


def assert_close(ours, theirs, what):
    assert len(ours) == len(theirs), f"{what}: {len(ours)} tensors vs {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"{what}[{i}]: shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, atol=TOL, rtol=TOL, err_msg=f"{what}[{i}]")


def check_pair(ours, theirs, x, mask):
    out_o, grad_o = outputs_and_grads(ours, x, mask)
    out_k, grad_k = outputs_and_grads(theirs, x, mask)
    assert_close(out_o, out_k, "outputs/states")
    assert_close(grad_o, grad_k, "gradients (inputs, then weights)")


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layer_class", LAYERS)
def test_keras_weights_into_ours(layer_class, shape, masked):
    batch, time, features, units = shape
    x, mask = make_inputs(batch, time, features, seed=sum(shape), masked=masked)
    keras_layer = keras.layers.__dict__[layer_class.__qualname__[4:]](
        units, return_sequences=True, return_state=True
    )
    keras_layer(x)
    ours = from_keras(keras_layer)
    ours(x)
    copy_weights(keras_layer, ours)
    check_pair(ours, keras_layer, x, mask)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("layer_class", LAYERS)
def test_our_weights_into_keras(layer_class, masked, go_backwards):
    x, mask = make_inputs(3, 6, 4, seed=7, masked=masked)
    ours = layer_class(5, return_sequences=False, return_state=True, go_backwards=go_backwards)
    ours(x)
    # Move the weights away from their initial values so a copy is visible.
    ours.set_weights([w + 0.1 * np.random.default_rng(1).normal(size=w.shape) for w in ours.get_weights()])
    twin = keras_twin(ours)
    twin(x)
    before = as_list(twin(x))[0]
    copy_weights(ours, twin)
    assert not np.allclose(before, as_list(twin(x))[0]), "copying weights changed nothing"
    check_pair(ours, twin, x, mask)


def test_initial_state_is_used():
    x, _ = make_inputs(2, 5, 3, seed=3, masked=False)
    ours, theirs = ScanLSTM(4, return_state=True), keras.layers.LSTM(4, return_state=True)
    ours(x), theirs(x)
    copy_weights(theirs, ours)
    h0 = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    c0 = np.random.default_rng(1).normal(size=(2, 4)).astype("float32")
    a = as_list(ours(x, initial_state=[h0, c0]))
    b = as_list(theirs(x, initial_state=[h0, c0]))
    assert_close(a, b, "with initial state")
    assert not np.allclose(a[0], as_list(ours(x))[0])


def test_gru_reset_before_layout_matches_keras():
    x, mask = make_inputs(3, 6, 4, seed=11, masked=True)
    theirs = keras.layers.GRU(5, reset_after=False, return_sequences=True)
    theirs(x)
    ours = from_keras(theirs)
    ours(x)
    copy_weights(theirs, ours)
    check_pair(ours, theirs, x, mask)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("layer_class", LAYERS)
def test_bidirectional_matches_keras(layer_class, merge_mode):
    for masked, return_sequences in [(False, True), (True, True), (True, False)]:
        x, mask = make_inputs(3, 6, 4, seed=5, masked=masked)
        ours = ScanBidirectional(layer_class(4, return_sequences=return_sequences), merge_mode=merge_mode)
        ours(x)
        theirs = keras_twin(ours)
        theirs(x)
        copy_weights(ours, theirs)
        check_pair(ours, theirs, x, mask)


@pytest.mark.parametrize("layer_class", LAYERS)
def test_bidirectional_states_match_keras(layer_class):
    x, mask = make_inputs(3, 6, 4, seed=9, masked=True)
    ours = ScanBidirectional(layer_class(4, return_sequences=True, return_state=True))
    ours(x)
    theirs = keras_twin(ours)
    theirs(x)
    copy_weights(ours, theirs)
    check_pair(ours, theirs, x, mask)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("layer_class", LAYERS)
def test_stacked_matches_keras_layers_in_turn(layer_class, masked):
    x, mask = make_inputs(3, 6, 4, seed=13, masked=masked)
    ours = StackedRNN(
        [layer_class(5), ScanBidirectional(layer_class(3)), layer_class(4)], return_sequences=True
    )
    ours(x)
    keras_name = layer_class.__qualname__[4:]
    K = keras.layers.__dict__[keras_name]
    inputs = keras.Input((None, 4))
    h = keras.layers.Masking(mask_value=0.0)(inputs) if masked else inputs
    h = K(5, return_sequences=True)(h)
    h = keras.layers.Bidirectional(K(3, return_sequences=True))(h)
    h = K(4, return_sequences=True)(h)
    theirs = keras.Model(inputs, h)
    theirs.set_weights(ours.get_weights())
    if masked:
        x = x * mask[..., None]  # Masking(0.0) derives the same mask from the zeroed steps
    out_o, grad_o = outputs_and_grads(ours, x, mask)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = theirs(xt)
        loss = weighted_sum(y)
    grad_k = [np.asarray(g) for g in tape.gradient(loss, [xt] + theirs.trainable_weights)]
    assert_close(out_o, [np.asarray(y)], "stacked outputs")
    assert_close(grad_o, grad_k, "stacked gradients")
