"""Bidirectional and stacked (deep) recurrent wrappers around `ScanRNN` layers."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from course.rnn.scan import ScanRNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@keras.saving.register_keras_serializable(package="course")
class ScanBidirectional(keras.layers.Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, then merges.

    The two directions share nothing: each has its own weights, and they
    compute independently. Weights are ordered forward then backward, like
    `keras.layers.Bidirectional`, so `set_weights` copies between the two.

    Args:
        layer: a `ScanRNN` (or subclass) running forwards.
        merge_mode: "concat", "sum", "mul", "ave" or None (return both).
        backward_layer: optional layer for the backward direction; by default
            a copy of `layer`'s config with `go_backwards` flipped.

    Shapes:
        `(B, T, D)` in; `(B, T, 2H)` with "concat" and `return_sequences`.
    """

    def __init__(
        self,
        layer: ScanRNN,
        merge_mode: str | None = "concat",
        backward_layer: ScanRNN | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {MERGE_MODES}; got {merge_mode!r}.")
        if not isinstance(layer, ScanRNN):
            raise TypeError(f"Expected a ScanRNN layer to wrap; got {type(layer).__name__}.")
        self.merge_mode = merge_mode
        self.forward_layer = layer
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = not layer.go_backwards
            config["name"] = "backward_" + layer.name
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        self.built = True

    def call(
        self,
        inputs: tf.Tensor,
        initial_state: Sequence[tf.Tensor] | None = None,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask)
        states: list = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = tf.reverse(y_rev, [1])  # back to reading order
        if self.merge_mode == "concat":
            output: Any = tf.concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            n = len(self.forward_layer.compute_output_shape((None, None, 1))) - 1
            heads = [out_mask] if self.merge_mode is not None else [out_mask, out_mask]
            return heads + [None] * (2 * n)
        return out_mask if self.merge_mode is not None else [out_mask, out_mask]

    def compute_output_shape(self, input_shape: tuple) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        head, states = (shape[0], list(shape[1:])) if self.return_state else (shape, [])
        if self.merge_mode == "concat":
            merged: Any = [(*head[:-1], head[-1] * 2)]
        elif self.merge_mode is None:
            merged = [head, head]
        else:
            merged = [head]
        if self.return_state:
            return merged + states + states
        return merged[0] if len(merged) == 1 else merged

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            layer=keras.saving.serialize_keras_object(self.forward_layer),
            backward_layer=keras.saving.serialize_keras_object(self.backward_layer),
            merge_mode=self.merge_mode,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> "ScanBidirectional":
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        config["backward_layer"] = keras.saving.deserialize_keras_object(config["backward_layer"])
        return cls(**config)


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
                    f"got {type(layer).__name__}."
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

    def build(self, input_shape: tuple) -> None:
        shape = tuple(input_shape)
        for layer in self.rnn_layers:
            layer.build(shape)
            out = layer.compute_output_shape(shape)
            out = out[0] if self.return_state else out
            shape = (shape[0], shape[1], out[-1])
        self.built = True

    def call(self, inputs: tf.Tensor, mask: tf.Tensor | None = None, training: bool | None = None) -> Any:
        x, states = inputs, []
        for layer in self.rnn_layers:
            out = layer(x, mask=mask)
            if self.return_state:
                x, layer_states = out[0], list(out[1:])
                states.extend(layer_states)
            else:
                x = out
        return [x, *states] if self.return_state else x

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * (len(self.compute_output_shape(inputs.shape)) - 1)
        return out_mask

    def compute_output_shape(self, input_shape: tuple) -> Any:
        shape, states = tuple(input_shape), []
        for layer in self.rnn_layers:
            out = layer.compute_output_shape(shape)
            if self.return_state:
                out, layer_states = out[0], list(out[1:])
                states.extend(layer_states)
            shape = out if layer is self.rnn_layers[-1] else (shape[0], shape[1], out[-1])
        return [shape, *states] if self.return_state else shape

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
