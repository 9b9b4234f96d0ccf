"""keras_twin / from_keras / copy_weights keep every argument; StackedRNN takes initial states."""

import keras
import numpy as np
import pytest

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

X = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], bool)


def built_twin(ours, x=X):
    ours(x)
    twin = keras_twin(ours)
    twin(x)
    copy_weights(ours, twin)
    return twin


def test_twin_keeps_zero_output_for_mask():
    ours = ScanGRU(4, return_sequences=True, zero_output_for_mask=True)
    twin = built_twin(ours)
    assert twin.zero_output_for_mask
    y = ours(X, mask=MASK)
    assert not np.asarray(y)[~MASK].any(), "masked steps must be zero"
    np.testing.assert_allclose(y, twin(X, mask=MASK), atol=1e-6)


def test_twin_keeps_every_argument():
    ours = ScanLSTM(
        4, dropout=0.3, recurrent_dropout=0.2, seed=5, kernel_regularizer="l2", stateful=True,
        unroll=True, go_backwards=True, activity_regularizer="l1", dtype="float64", use_cudnn=False,
    )
    twin = keras_twin(ours)
    expected = {k: v for k, v in ours.get_config().items() if k != "name"}
    assert {k: v for k, v in twin.get_config().items() if k != "name"} == expected
    assert twin.use_cudnn is False


def test_simple_rnn_twin_keeps_its_seed():
    twin = keras_twin(ScanSimpleRNN(3, dropout=0.5, seed=11))
    assert twin.cell.seed == 11


def test_bidirectional_twin_keeps_the_backward_layer():
    backward = ScanGRU(4, activation="relu", go_backwards=True, return_sequences=True)
    ours = ScanBidirectional(ScanGRU(4, return_sequences=True), backward_layer=backward, merge_mode="sum")
    twin = built_twin(ours)
    assert twin.backward_layer.get_config()["activation"] == "relu"
    np.testing.assert_allclose(ours(X, mask=MASK), twin(X, mask=MASK), atol=1e-5)


def test_bidirectional_checks_its_backward_layer():
    with pytest.raises(ValueError, match="opposite directions"):
        ScanBidirectional(ScanGRU(3), backward_layer=ScanGRU(3))
    with pytest.raises(ValueError, match="return_sequences"):
        ScanBidirectional(ScanGRU(3), backward_layer=ScanGRU(3, go_backwards=True, return_sequences=True))


@pytest.mark.parametrize("layer_class", [ScanSimpleRNN, ScanGRU, ScanLSTM])
def test_stacked_rnn_takes_initial_states_like_layers_in_turn(layer_class):
    stack = StackedRNN([layer_class(5), ScanBidirectional(layer_class(3))], return_sequences=True, return_state=True)
    stack(X)
    counts = stack.state_counts()
    rng = np.random.default_rng(1)
    sizes = [5] * counts[0] + [3] * counts[1]
    states = [rng.normal(size=(3, s)).astype("float32") for s in sizes]
    out = stack(X, initial_state=states, mask=MASK)
    bottom, top = stack.rnn_layers
    h = bottom(X, initial_state=states[: counts[0]], mask=MASK)
    expected = top(h[0], initial_state=states[counts[0] :], mask=MASK)
    for a, b in zip(out, [expected[0], *h[1:], *expected[1:]]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(out[0], stack(X, mask=MASK)[0]), "initial states changed nothing"
    with pytest.raises(ValueError, match="initial state tensors"):
        stack(X, initial_state=states[:-1])


def test_stacked_rnn_twin_is_keras_layers_in_turn():
    stack = StackedRNN([ScanLSTM(5, dropout=0.1), ScanBidirectional(ScanGRU(3))], return_sequences=True)
    twin = built_twin(stack)
    assert [type(l) for l in twin.layers] == [keras.layers.LSTM, keras.layers.Bidirectional]
    np.testing.assert_allclose(stack(X), twin(X), atol=1e-5)
    with pytest.raises(ValueError, match="return_state"):
        keras_twin(StackedRNN([ScanGRU(3)], return_state=True))


def test_from_keras_keeps_every_argument():
    theirs = keras.layers.GRU(
        4, dropout=0.2, recurrent_dropout=0.1, seed=3, bias_regularizer="l1", recurrent_constraint="non_neg",
        return_sequences=True, zero_output_for_mask=True, reset_after=False, use_cudnn=False,
    )
    ours = from_keras(theirs)
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == {
        k: v for k, v in theirs.get_config().items() if k != "name"
    }
    assert ours.use_cudnn is False
    theirs(X), ours(X)
    copy_weights(theirs, ours)
    np.testing.assert_allclose(ours(X, mask=MASK), theirs(X, mask=MASK), atol=1e-6)


def test_from_keras_bidirectional_and_sequential():
    theirs = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True),
        backward_layer=keras.layers.LSTM(3, go_backwards=True, return_sequences=True, unit_forget_bias=False),
        merge_mode="ave",
    )
    ours = from_keras(theirs)
    assert ours.merge_mode == "ave" and not ours.backward_layer.cell.unit_forget_bias
    theirs(X), ours(X)
    copy_weights(theirs, ours)
    np.testing.assert_allclose(ours(X, mask=MASK), theirs(X, mask=MASK), atol=1e-5)
    stack = from_keras(keras.Sequential([keras.layers.GRU(4, return_sequences=True), keras.layers.SimpleRNN(2)]))
    assert isinstance(stack, StackedRNN) and not stack.return_sequences


class GRUWithExtra(keras.layers.GRU):
    def __init__(self, *args, extra=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = extra

    def get_config(self):
        return {**super().get_config(), "extra": self.extra}


def test_from_keras_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="use_cudnn=True"):
        from_keras(keras.layers.LSTM(3, use_cudnn=True))
    with pytest.raises(TypeError, match="Expected keras SimpleRNN"):
        from_keras(GRUWithExtra(3))
    with pytest.raises(TypeError, match="Expected keras SimpleRNN"):
        from_keras(keras.layers.RNN(keras.layers.GRUCell(3)))


def test_from_keras_names_unknown_config_keys(monkeypatch):
    layer = keras.layers.GRU(3)
    monkeypatch.setattr(layer, "get_config", lambda: {**keras.layers.GRU(3).get_config(), "extra": 1})
    with pytest.raises(ValueError, match=r"cannot honour the argument\(s\) \['extra'\]"):
        from_keras(layer)


def test_copy_weights_explains_mismatches():
    a, b = ScanGRU(3), ScanLSTM(3)
    a(X), b(X)
    with pytest.raises(ValueError, match="matching weight shapes"):
        copy_weights(a, b)
