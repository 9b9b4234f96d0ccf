"""Moving weights between our scan layers and Keras' own recurrent layers."""

from __future__ import annotations

import keras

from course.rnn.gru import ScanGRU
from course.rnn.lstm import ScanLSTM
from course.rnn.simple import ScanSimpleRNN
from course.rnn.wrappers import ScanBidirectional

KERAS_TWINS: dict[type, type] = {
    ScanSimpleRNN: keras.layers.SimpleRNN,
    ScanGRU: keras.layers.GRU,
    ScanLSTM: keras.layers.LSTM,
}
CELL_OF_KERAS: dict[type, type] = {
    keras.layers.SimpleRNN: ScanSimpleRNN,
    keras.layers.GRU: ScanGRU,
    keras.layers.LSTM: ScanLSTM,
}


def copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """Copies every weight of `source` into `target` (ours to Keras' or back).

    Both layers must be built and hold the same weights in the same order
    and shapes (kernel, recurrent_kernel, bias per direction).

    Raises:
        ValueError: the two layers' weight lists differ in count or shape.
    """
    src, dst = source.get_weights(), target.get_weights()
    if len(src) != len(dst) or any(a.shape != b.shape for a, b in zip(src, dst)):
        raise ValueError(
            "Cannot copy weights: expected matching weight shapes, got "
            f"{[a.shape for a in src]} from {source.name} and {[b.shape for b in dst]} in {target.name}."
        )
    target.set_weights(src)


def keras_twin(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A Keras layer with the same configuration as one of our scan layers (unbuilt).

    `ScanSimpleRNN`/`ScanGRU`/`ScanLSTM` map to `SimpleRNN`/`GRU`/`LSTM`, and
    `ScanBidirectional` to `keras.layers.Bidirectional` over the twin.
    """
    if isinstance(layer, ScanBidirectional):
        return keras.layers.Bidirectional(keras_twin(layer.forward_layer), merge_mode=layer.merge_mode)
    twin_class = KERAS_TWINS.get(type(layer))
    if twin_class is None:
        raise TypeError(
            f"Expected ScanSimpleRNN, ScanGRU, ScanLSTM or ScanBidirectional; got {type(layer).__name__}."
        )
    config = layer.get_config()
    for key in ("name", "zero_output_for_mask", "dtype", "trainable"):
        config.pop(key, None)
    return twin_class(**config)


def from_keras(layer: keras.layers.Layer) -> keras.layers.Layer:
    """Our scan layer matching a Keras `SimpleRNN`/`GRU`/`LSTM` (unbuilt)."""
    ours = CELL_OF_KERAS.get(type(layer))
    if ours is None:
        raise TypeError(f"Expected keras SimpleRNN, GRU or LSTM; got {type(layer).__name__}.")
    config = layer.get_config()
    keep = {"units", "return_sequences", "return_state", "go_backwards", "activation", "use_bias"}
    keep |= {"kernel_initializer", "recurrent_initializer", "bias_initializer"}
    if ours is not ScanSimpleRNN:
        keep.add("recurrent_activation")
    if ours is ScanGRU:
        keep.add("reset_after")
    if ours is ScanLSTM:
        keep.add("unit_forget_bias")
    return ours(**{k: v for k, v in config.items() if k in keep})

