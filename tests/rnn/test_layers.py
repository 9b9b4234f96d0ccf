"""Our cells and layers as Keras citizens: contract, masks, serialisation, fit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.rnn import (
    GRUCell,
    LSTMCell,
    ScanBidirectional,
    ScanGRU,
    ScanLSTM,
    ScanRNN,
    ScanSimpleRNN,
    SimpleRNNCell,
    StackedRNN,
    scan_rnn,
)


def test_simple_cell_is_the_textbook_equation():
    cell = SimpleRNNCell(3)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    h = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    y, (new_h,) = cell(x, [h])
    W_x, W_h, b = [w.numpy() for w in cell.weights]
    expected = np.tanh(x @ W_x + h @ W_h + b)
    np.testing.assert_allclose(y, expected, atol=1e-6)
    np.testing.assert_allclose(new_h, expected, atol=1e-6)


@pytest.mark.parametrize("cell_class", [SimpleRNNCell, GRUCell, LSTMCell])
def test_our_cells_run_under_keras_rnn_layer(cell_class):
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    keras_rnn = keras.layers.RNN(cell_class(4), return_sequences=True)
    ours = ScanRNN(cell_class(4), return_sequences=True)
    keras_rnn(x), ours(x)
    ours.set_weights(keras_rnn.get_weights())
    np.testing.assert_allclose(ours(x), keras_rnn(x), atol=1e-5)


def test_padded_steps_carry_the_state_through():
    x = np.random.default_rng(3).normal(size=(1, 6, 2)).astype("float32")
    mask = np.array([[True, True, True, False, False, False]])
    layer = ScanGRU(4, return_state=True)
    _, state_masked = layer(x, mask=mask)
    _, state_short = layer(x[:, :3])
    np.testing.assert_allclose(state_masked, state_short, atol=1e-6)


def test_scan_rnn_rejects_wrong_rank():
    with pytest.raises(ValueError, match="batch, time, features"):
        scan_rnn(SimpleRNNCell(2), tf.zeros((3, 4)), [tf.zeros((3, 2))])


def test_wrong_number_of_initial_states_is_explained():
    layer = ScanLSTM(3)
    with pytest.raises(ValueError, match="Expected 2 initial state"):
        layer(tf.zeros((1, 2, 2)), initial_state=[tf.zeros((1, 3))])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="positive integer"):
        SimpleRNNCell(0)
    with pytest.raises(ValueError, match="merge_mode"):
        ScanBidirectional(ScanGRU(2), merge_mode="max")
    with pytest.raises(TypeError, match="ScanRNN"):
        StackedRNN([keras.layers.Dense(3)])


def build_model():
    inputs = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(20, 8, mask_zero=True)(inputs)
    h = StackedRNN([ScanBidirectional(ScanLSTM(6)), ScanGRU(5)], return_sequences=False)(h)
    outputs = keras.layers.Dense(2)(h)
    return keras.Model(inputs, outputs)


def test_functional_model_fits_and_round_trips_through_saving(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.integers(1, 20, size=(64, 7))
    x[::2, 5:] = 0  # padding
    y = (x[:, 0] > 10).astype("int32")
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    kinds = [type(l).__name__ for l in loaded.layers]
    assert "StackedRNN" in kinds


@pytest.mark.parametrize("layer", [ScanSimpleRNN(3, activation="relu"), ScanGRU(3, reset_after=False), ScanLSTM(3, unit_forget_bias=False)])
def test_config_round_trip_keeps_cell_arguments(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_lstm_forget_bias_starts_at_one():
    layer = ScanLSTM(3)
    layer(tf.zeros((1, 2, 2)))
    bias = layer.cell.bias.numpy()
    np.testing.assert_array_equal(bias[3:6], 1.0)
    np.testing.assert_array_equal(bias[:3], 0.0)
