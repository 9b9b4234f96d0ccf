"""MaskedGlobalMaxPooling1D against numpy and against Keras' own pooling."""

import numpy as np
import pytest
import keras
import tensorflow as tf
from keras import layers

from course.layers import MaskedGlobalMaxPooling1D


def numpy_masked_max(x, mask):
    out = np.zeros((x.shape[0], x.shape[2]), x.dtype)
    for b in range(x.shape[0]):
        if mask[b].any():
            out[b] = x[b][mask[b]].max(axis=0)
    return out


def test_maximum_over_real_steps_only_matches_numpy():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(4, 6, 3)) - 2.0).astype("float32")  # mostly negative: padding zeros would win
    mask = np.arange(6)[None, :] < np.array([6, 3, 1, 0])[:, None]  # the last row has no real step
    got = MaskedGlobalMaxPooling1D()(x, mask=mask).numpy()
    np.testing.assert_allclose(got, numpy_masked_max(x, mask), rtol=0, atol=0)
    assert np.all(got[3] == 0.0)


def test_without_a_mask_it_is_keras_global_max_pooling():
    x = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    np.testing.assert_allclose(MaskedGlobalMaxPooling1D()(x).numpy(), layers.GlobalMaxPooling1D()(x).numpy())


@pytest.mark.filterwarnings("ignore:Layer .global_max_pooling1d:UserWarning")  # Keras warns it drops the mask
def test_differs_from_keras_pooling_after_a_masked_bidirectional_rnn():
    ids = np.array([[4, 7, 2, 0, 0, 0], [5, 0, 0, 0, 0, 0]], "int32")
    inputs = keras.Input((None,), dtype="int32")
    embedded = layers.Embedding(10, 4, mask_zero=True)(inputs)
    states = layers.Bidirectional(layers.GRU(4, return_sequences=True))(embedded)  # (B, T, 2H)
    model = keras.Model(inputs, [states, MaskedGlobalMaxPooling1D()(states), layers.GlobalMaxPooling1D()(states)])
    seq, ours, theirs = (t.numpy() for t in model(ids))
    np.testing.assert_allclose(ours, numpy_masked_max(seq, ids != 0), rtol=1e-6)
    assert np.all(seq[ids == 0] == 0.0)  # Bidirectional writes zeros at padded steps
    # Keras' pooling sees those zeros: where every real value is negative it reports 0.
    np.testing.assert_allclose(theirs, np.maximum(numpy_masked_max(seq, ids != 0), 0.0), rtol=1e-6)


def test_gradient_reaches_only_the_winning_real_step():
    x = tf.constant([[[1.0, -2.0], [3.0, -1.0], [9.0, 9.0]]])  # (1, 3, 2); step 2 is padding
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(MaskedGlobalMaxPooling1D()(x, mask=tf.constant([[True, True, False]])))
    np.testing.assert_array_equal(tape.gradient(total, x).numpy()[0], [[0, 0], [1, 1], [0, 0]])


def test_saves_and_loads_inside_a_model(tmp_path):
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, MaskedGlobalMaxPooling1D()(layers.Masking()(inputs)))
    path = tmp_path / "pool.keras"
    model.save(path)
    x = np.array([[[1.0, 2.0], [0.0, 0.0]]], "float32")
    np.testing.assert_array_equal(keras.models.load_model(path)(x).numpy(), model(x).numpy())


def test_rejects_inputs_without_a_time_axis():
    with pytest.raises(ValueError, match="batch, time, features"):
        MaskedGlobalMaxPooling1D().compute_output_shape((None, 4))
