"""Keras' semantics in the scan layers, each checked against Keras' own layer where one exists.

One test per failure found when Keras users tried the layers (issue 15):
dtype policies, integer inputs, Keras cells under mixed precision,
`trainable`, dropout, regularizers and constraints, `stateful`, `unroll`,
configs both ways.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.rnn import (
    GRUCell,
    ScanBidirectional,
    ScanGRU,
    ScanLSTM,
    ScanRNN,
    ScanSimpleRNN,
    copy_weights,
    scan_rnn,
)

PAIRS = [(ScanSimpleRNN, keras.layers.SimpleRNN), (ScanGRU, keras.layers.GRU), (ScanLSTM, keras.layers.LSTM)]
IDS = ["SimpleRNN", "GRU", "LSTM"]


def inputs(batch=3, time=5, features=4, seed=0, dtype="float32"):
    return np.random.default_rng(seed).normal(size=(batch, time, features)).astype(dtype)


def twins(ours_class, keras_class, x, **kwargs):
    """Our layer and Keras', same arguments, built on `x`, with the same weights."""
    ours, theirs = ours_class(**kwargs), keras_class(**kwargs)
    ours(x), theirs(x)
    copy_weights(theirs, ours)
    return ours, theirs


@pytest.mark.parametrize("policy, expected", [("mixed_float16", "float16"), ("float64", "float64")])
def test_bidirectional_follows_its_dtype_policy(policy, expected):
    x = inputs()
    layer = ScanBidirectional(ScanGRU(3), dtype=policy)
    y = layer(x)
    assert y.dtype == expected
    assert keras.layers.Bidirectional(keras.layers.GRU(3), dtype=policy)(x).dtype == expected


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_per_layer_float64_matches_keras(ours_class, keras_class):
    x = inputs(dtype="float64")
    ours, theirs = twins(ours_class, keras_class, x, units=4, return_sequences=True, dtype="float64")
    assert ours.cell.compute_dtype == "float64" and all(w.dtype == "float64" for w in ours.weights)
    y = ours(x)
    assert y.dtype == "float64"
    np.testing.assert_allclose(y, theirs(x), atol=1e-12)


def test_scan_rnn_with_our_cell_in_float64():
    x = inputs(dtype="float64")
    layer = ScanRNN(GRUCell(3, dtype="float64"), dtype="float64")
    assert layer(x).dtype == "float64"


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_mixed_precision_matches_keras(ours_class, keras_class):
    x = inputs()
    ours, theirs = twins(ours_class, keras_class, x, units=4, return_sequences=True, dtype="mixed_float16")
    y = ours(x)
    assert y.dtype == "float16" and all(w.dtype == "float32" for w in ours.weights)
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(theirs(x), "float32"), atol=1e-2)


def test_integer_inputs_run_like_floats():
    x = np.random.default_rng(1).integers(0, 5, size=(2, 4, 3))
    layer = ScanLSTM(3, return_state=True)
    outputs = layer(x)
    expected = layer(x.astype("float32"))
    for a, b in zip(outputs, expected):
        assert a.dtype == "float32"
        np.testing.assert_allclose(a, b, atol=1e-6)
    last, _, _ = scan_rnn(layer.cell, tf.constant(x), [tf.zeros((2, 3))] * 2)
    np.testing.assert_allclose(last, expected[0], atol=1e-6)


class KerasStyleCell(keras.layers.Layer):
    """A user's cell written with keras.ops, as in Keras' own docs."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        h = keras.ops.tanh(keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]


def test_keras_cell_under_mixed_precision_matches_keras_rnn():
    x = inputs()
    ours = ScanRNN(KerasStyleCell(4), return_sequences=True, dtype="mixed_float16")
    theirs = keras.layers.RNN(KerasStyleCell(4), return_sequences=True, dtype="mixed_float16")
    ours(x), theirs(x)
    copy_weights(theirs, ours)
    y = ours(x)
    assert y.dtype == "float16"
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(theirs(x), "float32"), atol=1e-3)


def test_trainable_false_is_not_trained_by_fit():
    model = keras.Sequential([keras.Input((5, 4)), ScanLSTM(3, trainable=False), keras.layers.Dense(1)])
    frozen = model.layers[0]
    assert not frozen.cell.trainable and frozen.trainable_weights == []
    before = [w.copy() for w in frozen.get_weights()]
    model.compile("sgd", "mse")
    model.fit(inputs(8), np.ones((8, 1)), epochs=2, verbose=0)
    for a, b in zip(before, frozen.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "ours_class, keras_class, extra",
    [*[(o, k, {}) for o, k in PAIRS], (ScanGRU, keras.layers.GRU, {"reset_after": False})],
    ids=[*IDS, "GRU-reset-before"],
)
@pytest.mark.parametrize("rates", [(0.4, 0.0), (0.0, 0.3), (0.4, 0.3)], ids=["dropout", "recurrent", "both"])
def test_dropout_masks_are_keras_masks(ours_class, keras_class, extra, rates):
    """Same seed, same weights: in training our outputs are Keras', mask for mask; outside training no dropout."""
    x = inputs(4, 6, 5)
    kwargs = dict(units=4, dropout=rates[0], recurrent_dropout=rates[1], seed=7, return_sequences=True, **extra)
    ours, theirs = twins(ours_class, keras_class, x, **kwargs)
    plain, _ = twins(ours_class, keras_class, x, units=4, return_sequences=True, **extra)
    copy_weights(theirs, plain)
    ours, theirs = ours_class(**kwargs), keras_class(**kwargs)  # fresh seed generators
    ours.build(x.shape), theirs.build(x.shape)
    copy_weights(plain, ours), copy_weights(plain, theirs)
    trained = ours(x, training=True)
    np.testing.assert_allclose(trained, theirs(x, training=True), atol=1e-5)
    assert not np.allclose(trained, plain(x), atol=1e-3), "dropout changed nothing in training"
    np.testing.assert_allclose(ours(x, training=False), plain(x), atol=1e-6)


def test_dropout_draws_one_mask_per_sequence():
    """With a linear cell and identity weights, dropped input features stay zero at every step."""
    layer = ScanSimpleRNN(
        6, activation=None, dropout=0.5, seed=1, return_sequences=True, use_bias=False,
        kernel_initializer="identity", recurrent_initializer="zeros",
    )
    y = np.asarray(layer(np.ones((4, 7, 6), "float32"), training=True))  # (B, T, H)
    dropped = y[:, 0] == 0
    assert dropped.any() and not dropped.all()
    assert (y == y[:, :1]).all(), "the mask changed between steps"


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_regularizers_and_constraints_train_like_keras(ours_class, keras_class):
    x, y = inputs(8), np.ones((8, 1), "float32")
    kwargs = dict(
        units=3,
        kernel_regularizer="l2",
        recurrent_regularizer=keras.regularizers.L1(0.01),
        bias_regularizer="l1",
        kernel_constraint="non_neg",
        recurrent_constraint=keras.constraints.MaxNorm(0.5),
        bias_constraint="unit_norm",
    )
    models = []
    for layer_class in (ours_class, keras_class):
        model = keras.Sequential([keras.Input((5, 4)), layer_class(**kwargs), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse")
        models.append(model)
    ours, theirs = models
    ours.set_weights(theirs.get_weights())
    assert len(ours.losses) == 3
    np.testing.assert_allclose([float(l) for l in ours.losses], [float(l) for l in theirs.losses], rtol=1e-6)
    for model in models:
        model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    assert (ours.layers[0].cell.kernel.numpy() >= 0).all()
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_stateful_carries_states_like_keras(ours_class, keras_class):
    x1, x2 = inputs(seed=1), inputs(seed=2)
    ours, theirs = twins(ours_class, keras_class, x1, units=4, stateful=True, return_state=True)
    ours.reset_state(), theirs.reset_state()
    for batch in (x1, x2):
        for a, b in zip(ours(batch), theirs(batch)):
            np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(ours.states, theirs.states):
        np.testing.assert_allclose(a, b, atol=1e-5)
    ours.reset_state()
    assert all(not np.asarray(s).any() for s in ours.states)
    with pytest.raises(ValueError, match="batch"):
        ours(inputs(batch=2))
    assert len(ours.weights) == len(theirs.weights), "states must not count as weights"


def test_stateful_needs_a_static_batch():
    with pytest.raises(ValueError, match="static batch size"):
        ScanGRU(3, stateful=True)(keras.Input((5, 4)))


@pytest.mark.parametrize("ours_class", [ScanSimpleRNN, ScanGRU, ScanLSTM])
def test_unroll_gives_the_loops_result(ours_class):
    x = inputs()
    mask = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    looped = ours_class(4, return_sequences=True, go_backwards=True)
    looped(x)
    unrolled = ours_class(4, return_sequences=True, go_backwards=True, unroll=True)
    unrolled(x)
    unrolled.set_weights(looped.get_weights())
    np.testing.assert_allclose(unrolled(x, mask=mask), looped(x, mask=mask), atol=1e-6)
    with pytest.raises(ValueError, match="unknown length"):
        ours_class(4, unroll=True)(keras.Input((None, 4)))
    traced = tf.function(unrolled, input_signature=[tf.TensorSpec((None, None, 4))])
    with pytest.raises(ValueError, match="unknown length"):
        traced(x)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_configs_move_both_ways(ours_class, keras_class):
    keras_layer = keras_class(
        5, dropout=0.2, recurrent_dropout=0.1, seed=3, kernel_regularizer="l2", bias_constraint="non_neg",
        stateful=True, unroll=True, go_backwards=True, return_state=True, zero_output_for_mask=True,
        activity_regularizer="l1", dtype="float64", trainable=False, name="twin",
    )
    ours = ours_class.from_config(keras_layer.get_config())
    expected = {k: v for k, v in keras_layer.get_config().items()}
    got = ours.get_config()
    if keras_class is keras.layers.SimpleRNN:
        assert got.pop("seed") is None  # Keras' SimpleRNN config leaves its seed out
    assert got == expected
    back = keras_class.from_config(ours.get_config())
    assert back.get_config() == keras_layer.get_config()


def test_unsupported_arguments_are_explained():
    with pytest.raises(ValueError, match=r"does not support the argument\(s\) \['time_major'\]"):
        ScanGRU(3, time_major=True)
    with pytest.raises(ValueError, match="cuDNN"):
        ScanLSTM(3, use_cudnn=True)(inputs())
    with pytest.raises(ValueError, match="one cell"):
        ScanRNN([GRUCell(2), GRUCell(2)])
    with pytest.raises(ValueError, match="dropout"):
        ScanGRU(3, dropout=1.5)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_leading_masked_steps_with_initial_states_match_keras(ours_class, keras_class, zero_output_for_mask):
    """Before the first real step Keras outputs zeros, though the carried state is the initial one."""
    x = inputs()
    mask = np.array([[0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    kwargs = dict(units=4, return_sequences=True, return_state=True, zero_output_for_mask=zero_output_for_mask)
    ours, theirs = twins(ours_class, keras_class, x, **kwargs)
    rng = np.random.default_rng(3)
    states = [rng.normal(size=(3, 4)).astype("float32") for _ in range(2 if ours_class is ScanLSTM else 1)]
    for a, b in zip(ours(x, initial_state=states, mask=mask), theirs(x, initial_state=states, mask=mask)):
        np.testing.assert_allclose(a, b, atol=1e-6)
