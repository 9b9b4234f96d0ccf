"""Moving between our scan layers and Keras' own recurrent layers: configs and weights."""

from __future__ import annotations

import keras

from course.rnn.bidirectional import ScanBidirectional
from course.rnn.gru import ScanGRU
from course.rnn.lstm import ScanLSTM
from course.rnn.simple import ScanSimpleRNN
from course.rnn.stacked import StackedRNN

KERAS_TWINS: dict[type, type] = {
    ScanSimpleRNN: keras.layers.SimpleRNN,
    ScanGRU: keras.layers.GRU,
    ScanLSTM: keras.layers.LSTM,
}
OURS_OF_KERAS: dict[type, type] = {keras_class: ours for ours, keras_class in KERAS_TWINS.items()}
CELL_OF_KERAS = OURS_OF_KERAS  # older name


def copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """Copies every weight of `source` into `target` (ours to Keras' or back).

    Both layers must be built and hold the same weights in the same order
    and shapes (kernel, recurrent_kernel, bias per direction and per layer).

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

    `ScanSimpleRNN`/`ScanGRU`/`ScanLSTM` map to `SimpleRNN`/`GRU`/`LSTM` with
    every argument (dropout and its seed, regularizers, `stateful`,
    `zero_output_for_mask`, dtype, ...); `ScanBidirectional` to
    `keras.layers.Bidirectional` over both directions' twins; a `StackedRNN`
    to a `keras.Sequential` of its layers' twins.

    Raises:
        TypeError: `layer` is none of these.
        ValueError: the configuration has no Keras equivalent (a `StackedRNN`
            with `return_state`: Keras has no layer returning every layer's states).
    """
    if isinstance(layer, ScanBidirectional):
        return keras.layers.Bidirectional(
            keras_twin(layer.forward_layer),
            merge_mode=layer.merge_mode,
            backward_layer=keras_twin(layer.backward_layer),
            dtype=layer.dtype_policy,
            name=layer.name,
        )
    if isinstance(layer, StackedRNN):
        if layer.return_state:
            raise ValueError(
                "keras_twin cannot express a StackedRNN with return_state=True: a keras.Sequential "
                "returns no states. Apply [keras_twin(l) for l in stack.rnn_layers] in turn instead."
            )
        return keras.Sequential([keras_twin(sub) for sub in layer.rnn_layers], name=layer.name)
    twin_class = KERAS_TWINS.get(type(layer))
    if twin_class is None:
        raise TypeError(
            "Expected ScanSimpleRNN, ScanGRU, ScanLSTM, ScanBidirectional or StackedRNN; "
            f"got {type(layer).__qualname__}."
        )
    config = layer.get_config()  # SimpleRNN takes `seed` too, though its config leaves it out
    if getattr(layer, "use_cudnn", None) is not None:
        config["use_cudnn"] = layer.use_cudnn
    return twin_class(**config)


def from_keras(layer: keras.layers.Layer) -> keras.layers.Layer:
    """Our scan layer matching a Keras `SimpleRNN`/`GRU`/`LSTM`, `Bidirectional` or `Sequential` (unbuilt).

    Every argument of the Keras layer carries over; a `Bidirectional` keeps
    its backward layer, a `Sequential` of recurrent layers becomes a `StackedRNN`.

    Raises:
        TypeError: `layer` is of another kind (a subclass or a custom cell included).
        ValueError: `layer` has arguments the scan layers cannot honour.
    """
    if type(layer) is keras.layers.Bidirectional:
        return ScanBidirectional(
            from_keras(layer.forward_layer),
            merge_mode=layer.merge_mode,
            backward_layer=from_keras(layer.backward_layer),
            dtype=layer.dtype_policy,
            name=layer.name,
        )
    if type(layer) is keras.Sequential:
        subs = [from_keras(sub) for sub in layer.layers]
        if not subs:
            raise ValueError("from_keras needs a Sequential with at least one recurrent layer; got none.")
        return StackedRNN(subs, return_sequences=subs[-1].return_sequences, name=layer.name)
    ours = OURS_OF_KERAS.get(type(layer))
    if ours is None:
        raise TypeError(
            "Expected keras SimpleRNN, GRU, LSTM, Bidirectional or a Sequential of them; "
            f"got {type(layer).__qualname__}."
        )
    config = layer.get_config()
    unsupported = sorted(set(config) - set(ours(1).get_config()))
    if unsupported:
        raise ValueError(f"{ours.__qualname__} cannot honour the argument(s) {unsupported} of {layer.name}.")
    if ours is ScanSimpleRNN:
        config["seed"] = layer.cell.seed
    if getattr(layer, "use_cudnn", "auto") is True:
        raise ValueError(f"{layer.name} has use_cudnn=True; the scan layers never use cuDNN.")
    if ours.has_cudnn_option:
        config["use_cudnn"] = layer.use_cudnn
    return ours.from_config(config)
