"""The `model` probe: structure and outputs under deterministic weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from autograder.grading.compare import compare
from autograder.run.probes.model import describe_layer
from autograder.run.plain import from_plain, to_plain
from autograder.run.probes.call import run_call

TOKENS = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]], dtype="int32")  # second row unpadded


def functional(vocab_size, units, bidirectional=True, mask_zero=True):
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(vocab_size, 8, mask_zero=mask_zero)(inputs)
    rnn = layers.GRU(units)
    x = layers.Bidirectional(rnn)(x) if bidirectional else rnn(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def sequential(vocab_size, units):
    return keras.Sequential([
        layers.Embedding(vocab_size, 8, mask_zero=True),
        layers.Bidirectional(layers.GRU(units)),
        layers.Dense(1, activation="sigmoid"),
    ])


def probe(builder, **options):
    call = {"function": "build", "probe": "model", "seed": 7,
            "kwargs": {"build": to_plain({"vocab_size": 20, "units": 4}), "inputs": to_plain(TOKENS)}}
    build = (lambda **kw: builder(**kw, **options)) if options else builder
    return from_plain(run_call({"build": build}, call)["value"])


def test_sequential_and_functional_builders_of_one_model_agree():
    reference = probe(functional)
    assert compare(reference, probe(sequential), rtol=1e-5, atol=1e-6) is None
    # An independent count: embedding 20*8, two GRUs 3*(8*4 + 4*4 + 2*4), dense 8 + 1.
    assert reference["structure"]["total_params"] == 20 * 8 + 2 * 3 * (8 * 4 + 4 * 4 + 2 * 4) + 9


def test_a_missing_bidirectional_wrapper_is_named_in_the_feedback():
    mismatch = compare(probe(functional), probe(functional, bidirectional=False), rtol=1e-5, atol=1e-6)
    assert mismatch is not None
    assert "['layers'][1]" in mismatch.detail and "Bidirectional(GRU(units=4" in mismatch.detail


def test_masking_changes_the_outputs_of_a_padded_row_only():
    masked, unmasked = probe(functional), probe(functional, mask_zero=False)
    out_masked, out_unmasked = np.asarray(masked["outputs"]), np.asarray(unmasked["outputs"])
    assert not np.allclose(out_masked[0], out_unmasked[0], atol=1e-6)
    np.testing.assert_allclose(out_masked[1], out_unmasked[1], rtol=1e-5)
    assert "mask_zero=True" in masked["structure"]["layers"][0]


def test_builders_must_return_a_model():
    with pytest.raises(TypeError, match="should return a keras.Model"):
        probe(lambda **kw: "a model")


def test_layer_descriptions_show_defining_settings_only():
    assert describe_layer(layers.LSTM(3, return_sequences=True)) == (
        "LSTM(units=3, activation='tanh', return_sequences=True)"
    )
    assert describe_layer(layers.Dense(2, use_bias=False)) == "Dense(units=2, activation='linear', use_bias=False)"
