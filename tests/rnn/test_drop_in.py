"""The drop-in's last gaps (issue 28), each checked beside Keras' own layer doing the same thing.

Weights files moving both ways, the static time dimension in graph mode,
`return_state` as a tuple, Keras' public attributes, the `sequences=`
keyword, and a backward pass whose cost grows linearly with T.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.rnn import ScanBidirectional, ScanGRU, ScanLSTM, ScanSimpleRNN, StackedRNN, copy_weights

PAIRS = [(ScanSimpleRNN, keras.layers.SimpleRNN), (ScanGRU, keras.layers.GRU), (ScanLSTM, keras.layers.LSTM)]
IDS = ["SimpleRNN", "GRU", "LSTM"]
X = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")


def model_of(rnn_class, bidirectional_class, units=6):
    """Input -> Bidirectional(rnn) -> rnn -> Dense, the same architecture whichever classes build it."""
    inputs = keras.Input((5, 4))
    h = bidirectional_class(rnn_class(units, return_sequences=True))(inputs)
    h = rnn_class(3)(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def loaded_warnings(model, path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.load_weights(path, **kwargs)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
@pytest.mark.parametrize("direction", ["keras_to_ours", "ours_to_keras"])
@pytest.mark.parametrize("skip_mismatch", [False, True])
def test_weights_files_move_both_ways(tmp_path, ours_class, keras_class, direction, skip_mismatch):
    keras_model = model_of(keras_class, keras.layers.Bidirectional)
    our_model = model_of(ours_class, ScanBidirectional)
    source, target = (keras_model, our_model) if direction == "keras_to_ours" else (our_model, keras_model)
    path = tmp_path / "model.weights.h5"
    source.save_weights(path)
    assert not np.allclose(source.predict(X, verbose=0), target.predict(X, verbose=0), atol=1e-3)
    caught = loaded_warnings(target, path, skip_mismatch=skip_mismatch)
    assert caught == []
    for expected, got in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(target.predict(X, verbose=0), source.predict(X, verbose=0), atol=1e-5)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_skip_mismatch_warns_about_a_skipped_layer_as_keras_does(tmp_path, ours_class, keras_class):
    path = tmp_path / "wider.weights.h5"
    model_of(keras_class, keras.layers.Bidirectional, units=7).save_weights(path)
    keras_said = loaded_warnings(model_of(keras_class, keras.layers.Bidirectional), path, skip_mismatch=True)
    ours_said = loaded_warnings(model_of(ours_class, ScanBidirectional), path, skip_mismatch=True)

    def skipped(said):  # Keras' summary line, e.g. "A total of 3 objects could not be loaded."
        return [line.split(" Example")[0] for line in said if "could not be loaded" in line]

    assert skipped(keras_said), "Keras warns when it skips a layer"
    assert skipped(ours_said) == skipped(keras_said)


def _walk(group) -> list[str]:
    names: list[str] = []
    group.visit(names.append)
    return names


def test_a_file_of_our_model_names_its_layers_as_keras_does(tmp_path):
    """The file holds no trace of our class names (Keras' model reads it by Keras' paths)."""
    import h5py

    paths = {}
    for name, (rnn, bidirectional) in {
        "keras": (keras.layers.GRU, keras.layers.Bidirectional),
        "ours": (ScanGRU, ScanBidirectional),
    }.items():
        path = tmp_path / f"{name}.weights.h5"
        model_of(rnn, bidirectional).save_weights(path)
        with h5py.File(path) as f:
            paths[name] = sorted(n for n in _walk(f) if isinstance(f[n], h5py.Dataset))
    assert paths["ours"] == paths["keras"]
    assert "layers/gru/cell/vars/0" in paths["ours"]


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_graph_mode_keeps_the_static_time_dimension(ours_class, keras_class, go_backwards):
    shapes = {}
    for cls in (ours_class, keras_class):
        layer = cls(6, return_sequences=True, go_backwards=go_backwards)
        layer(X)

        @tf.function(input_signature=[tf.TensorSpec((None, 5, 4)), tf.TensorSpec((None, 5), tf.bool)])
        def run(x, mask, layer=layer):
            h = layer(x, mask=mask)
            steps = tf.unstack(h, axis=1)  # needs the static T
            return h, tf.add_n(steps)

        h, _ = run.get_concrete_function().structured_outputs
        shapes[cls] = tuple(h.shape)
    assert shapes[ours_class] == shapes[keras_class] == (None, 5, 6)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_return_state_is_a_tuple_as_in_keras(ours_class, keras_class):
    ours, theirs = ours_class(6, return_state=True), keras_class(6, return_state=True)
    ours(X), theirs(X)
    copy_weights(theirs, ours)
    eager = ours(X)
    assert isinstance(eager, tuple) and isinstance(theirs(X), tuple)
    assert len(eager + (X,)) == len(theirs(X)) + 1
    for a, b in zip(eager, theirs(X)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    inputs = keras.Input((5, 4))
    symbolic, keras_symbolic = ours(inputs), theirs(inputs)
    assert type(symbolic) is type(keras_symbolic) is tuple
    assert [tuple(s.shape) for s in symbolic] == [tuple(s.shape) for s in keras_symbolic]
    predicted = keras.Model(inputs, symbolic).predict(X, verbose=0)
    keras_predicted = keras.Model(inputs, keras_symbolic).predict(X, verbose=0)
    assert type(predicted) is type(keras_predicted) is tuple
    for a, b in zip(predicted, keras_predicted):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("return_state", [False, True])
def test_bidirectional_returns_tuples_as_in_keras(merge_mode, return_state):
    ours = ScanBidirectional(ScanLSTM(3, return_state=return_state), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_state=return_state), merge_mode=merge_mode)
    ours(X), theirs(X)
    copy_weights(theirs, ours)
    got, expected = ours(X), theirs(X)
    assert type(got) is type(expected)
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, atol=1e-5)
    inputs = keras.Input((5, 4))
    assert type(ours(inputs)) is type(theirs(inputs))
    predicted = keras.Model(inputs, ours(inputs)).predict(X, verbose=0)
    assert type(predicted) is type(keras.Model(inputs, theirs(inputs)).predict(X, verbose=0))


def test_stacked_rnn_returns_a_tuple_of_output_and_every_state():
    stack = StackedRNN([ScanGRU(3), ScanLSTM(2)], return_state=True)
    out = stack(X)
    assert isinstance(out, tuple) and [tuple(t.shape) for t in out] == [(3, 2), (3, 3), (3, 2), (3, 2)]
    assert isinstance(stack(keras.Input((5, 4))), tuple)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_public_attributes_match_keras(ours_class, keras_class):
    ours, theirs = ours_class(6), keras_class(6)
    ours(X), theirs(X)
    copy_weights(theirs, ours)
    assert list(ours.state_size) == list(theirs.state_size)
    assert ours.single_state == theirs.single_state
    states = ours.get_initial_state(3)
    last, outputs, final = ours.inner_loop(tf.constant(X), states, None)
    k_last, k_outputs, k_final = theirs.inner_loop(tf.constant(X), theirs.get_initial_state(3), None)
    np.testing.assert_allclose(last, k_last, atol=1e-5)
    np.testing.assert_allclose(outputs, k_outputs, atol=1e-5)
    assert len(final) == len(k_final)
    for a, b in zip(final, k_final):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("ours_class, keras_class", PAIRS, ids=IDS)
def test_sequences_keyword_works_as_in_keras(ours_class, keras_class):
    ours, theirs = ours_class(6, return_sequences=True), keras_class(6, return_sequences=True)
    ours(X), theirs(X)
    copy_weights(theirs, ours)
    np.testing.assert_allclose(ours(sequences=X), theirs(sequences=X), atol=1e-5)
    bidirectional = ScanBidirectional(ours_class(2))
    assert tuple(bidirectional(sequences=X).shape) == (3, 4)
    assert tuple(StackedRNN([ours_class(2)])(sequences=X).shape) == (3, 2)


def _gradient_bodies(layer):
    """The op types of each while loop's gradient body in a forward + backward pass of `layer`."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.trainable_weights)

    graph = step.get_concrete_function(tf.TensorSpec((None, None, 4))).graph.as_graph_def()
    return [{n.op for n in f.node_def} for f in graph.library.function if "body" in f.signature.name and "_grad" in f.signature.name]


@pytest.mark.parametrize("ours_class", [ScanSimpleRNN, ScanGRU, ScanLSTM], ids=IDS)
def test_backward_pass_sends_input_gradients_out_one_step_at_a_time(ours_class):
    """No step of the backward loop builds a whole `(T, ...)` list (that made the cost grow with T squared).

    Reading a captured list by index inside the loop makes each step's
    gradient a fresh list of every step (`TensorListReserve`), summed over
    the steps; popping the inputs makes it one push per step.
    """
    layer = ours_class(3, return_sequences=True)
    layer(X)
    bodies = _gradient_bodies(layer)
    assert bodies, "expected a while loop in the gradient"
    for ops in bodies:
        assert "TensorListReserve" not in ops
        assert "TensorListPushBack" in ops
