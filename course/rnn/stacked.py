"""`StackedRNN`: a deep RNN, each recurrent layer reading the sequence of the one below."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from course.rnn.bidirectional import ScanBidirectional
from course.rnn.layer import ScanRNN


@keras.saving.register_keras_serializable(package="course")
class StackedRNN(keras.layers.Layer):
    """A deep RNN: each layer reads the sequence of hidden states of the one below.

    Every layer has its own weights and its own states. All layers but the
    last return sequences; the last follows `return_sequences`. With
    `return_state`, the final states of every layer follow the output, bottom
    layer first (the same order as a list of Keras layers applied in turn).

    Args:
        layers: recurrent layers (`ScanRNN` or `ScanBidirectional`), bottom first.
        return_sequences: whether the top layer returns its whole sequence.
        return_state: also return every layer's final states.
    """

    def __init__(
        self,
        layers: Sequence[keras.layers.Layer],
        return_sequences: bool = False,
        return_state: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layers = list(layers)
        if not layers:
            raise ValueError("StackedRNN needs at least one recurrent layer; got an empty list.")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (ScanRNN, ScanBidirectional)):
                raise TypeError(
                    f"Layer {i} of a StackedRNN must be a ScanRNN or ScanBidirectional; "
                    f"got {type(layer).__qualname__}."
                )
            last = i == len(layers) - 1
            layer.return_sequences = return_sequences if last else True
            layer.return_state = return_state
            if isinstance(layer, ScanBidirectional):
                for direction in (layer.forward_layer, layer.backward_layer):
                    direction.return_sequences = layer.return_sequences
                    direction.return_state = return_state
                    direction.zero_output_for_mask = layer.return_sequences
        self.rnn_layers = layers
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.supports_masking = True

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        shape = tuple(sequences_shape)
        for layer in self.rnn_layers:
            layer.build(shape)
            out = layer.compute_output_shape(shape)
            out = out[0] if self.return_state else out
            shape = (shape[0], shape[1], out[-1])
        self.built = True

    def state_counts(self) -> list[int]:
        """How many state tensors each layer takes (and returns), bottom first."""
        counts = []
        for layer in self.rnn_layers:
            bidirectional = isinstance(layer, ScanBidirectional)
            size = (layer.forward_layer if bidirectional else layer).cell.state_size
            n = len(size) if isinstance(size, (list, tuple)) else 1
            counts.append(2 * n if bidirectional else n)
        return counts

    def _split_states(self, initial_state: Any) -> list:
        if initial_state is None:
            return [None] * len(self.rnn_layers)
        flat = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        counts = self.state_counts()
        if len(flat) != sum(counts):
            raise ValueError(
                f"Expected {sum(counts)} initial state tensors for this StackedRNN "
                f"({counts} per layer, bottom first); got {len(flat)}."
            )
        starts = [sum(counts[:i]) for i in range(len(counts))]
        return [flat[s : s + n] for s, n in zip(starts, counts)]

    def call(
        self,
        sequences: tf.Tensor,
        initial_state: Sequence[tf.Tensor] | None = None,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        """Runs the layers in turn; `initial_state` is every layer's states, bottom first.

        Returns:
            The top layer's output; with `return_state`, the tuple
            `(output, *states)`, every layer's final states, bottom first.
        """
        x, states = sequences, []
        for layer, layer_state in zip(self.rnn_layers, self._split_states(initial_state)):
            out = layer(x, initial_state=layer_state, mask=mask, training=training)
            if self.return_state:
                x, layer_states = out[0], list(out[1:])
                states.extend(layer_states)
            else:
                x = out
        return (x, *states) if self.return_state else x

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * (len(self.compute_output_shape(inputs.shape)) - 1)
        return out_mask

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        shape, states = tuple(sequences_shape), []
        for layer in self.rnn_layers:
            out = layer.compute_output_shape(shape)
            if self.return_state:
                out, layer_states = out[0], list(out[1:])
                states.extend(layer_states)
            shape = out if layer is self.rnn_layers[-1] else (shape[0], shape[1], out[-1])
        return (shape, *states) if self.return_state else shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            layers=[keras.saving.serialize_keras_object(layer) for layer in self.rnn_layers],
            return_sequences=self.return_sequences,
            return_state=self.return_state,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> "StackedRNN":
        config = dict(config)
        config["layers"] = [keras.saving.deserialize_keras_object(c) for c in config["layers"]]
        return cls(**config)
