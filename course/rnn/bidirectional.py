"""`ScanBidirectional`: a recurrent layer run forwards and backwards, then merged."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from course.rnn.layer import ScanRNN, named_as_keras

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer: ScanRNN, **changes: Any) -> ScanRNN:
    clone = type(layer).from_config({**layer.get_config(), **changes})
    if hasattr(layer, "use_cudnn"):  # not part of Keras' configs either
        clone.use_cudnn = layer.use_cudnn
    return clone


@named_as_keras("Bidirectional")
@keras.saving.register_keras_serializable(package="course")
class ScanBidirectional(keras.layers.Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, then merges.

    As `keras.layers.Bidirectional` does, the forward direction is a fresh
    copy of `layer`'s config (named `forward_<name>`) and the backward one a
    copy with `go_backwards` flipped (or `backward_layer`). The two share
    nothing; weights are ordered forward then backward, like Keras', so
    `set_weights` copies between the two. Outputs are cast to this wrapper's
    compute dtype.

    Args:
        layer: a `ScanRNN` (or subclass) running forwards.
        merge_mode: "concat", "sum", "mul", "ave" or None (return both).
        backward_layer: optional layer for the backward direction; it must
            read in the other direction and agree on `stateful`,
            `return_sequences` and `return_state`.

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
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {MERGE_MODES}; got {merge_mode!r}.")
        for what, given in (("layer", layer), ("backward_layer", backward_layer)):
            if given is not None and not isinstance(given, ScanRNN):
                raise TypeError(f"Expected a ScanRNN layer as `{what}`; got {type(given).__qualname__}.")
        if kwargs.pop("weights", None) is not None:
            raise ValueError("ScanBidirectional does not take `weights`; call set_weights after building.")
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = _clone(layer, name="forward_" + layer.name.removeprefix("forward_"))
        if backward_layer is None:
            backward_layer = _clone(
                layer, go_backwards=not layer.go_backwards, name="backward_" + layer.name.removeprefix("backward_")
            )
        self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._check_directions()
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _check_directions(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "The forward and backward layers must read in opposite directions; both have "
                f"go_backwards={forward.go_backwards}."
            )
        for name in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, name) != getattr(backward, name):
                raise ValueError(
                    f"The forward and backward layers must agree on `{name}`; got "
                    f"{getattr(forward, name)} and {getattr(backward, name)}."
                )

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        self.forward_layer.build(sequences_shape)
        self.backward_layer.build(sequences_shape)
        self.built = True

    def call(
        self,
        sequences: tf.Tensor,
        initial_state: Sequence[tf.Tensor] | None = None,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        """Both directions over `sequences` `(B, T, D)`, merged.

        Returns:
            The merged output (a tuple of both with `merge_mode=None`); with
            `return_state`, a tuple of the output(s), then the forward
            layer's final states, then the backward layer's, as Keras returns.
        """
        inputs = sequences
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask, training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y, y_rev = tf.cast(y, self.compute_dtype), tf.cast(y_rev, self.compute_dtype)
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
            output = (y, y_rev)
        if self.return_state:
            return (output if isinstance(output, tuple) else (output,)) + states
        return output

    def reset_state(self) -> None:
        """Zeroes both directions' carried states (stateful layers only)."""
        if not self.stateful:
            raise AttributeError("reset_state needs a stateful layer; this ScanBidirectional is not stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        """Alias of `reset_state` (Keras 2's name)."""
        self.reset_state()

    @property
    def states(self) -> tuple | None:
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states + self.backward_layer.states)
        return None

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            n = len(self.forward_layer.compute_output_shape((None, None, 1))) - 1
            heads = [out_mask] if self.merge_mode is not None else [out_mask, out_mask]
            return heads + [None] * (2 * n)
        return out_mask if self.merge_mode is not None else [out_mask, out_mask]

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        head, states = (tuple(shape[0]), [tuple(s) for s in shape[1:]]) if self.return_state else (tuple(shape), [])
        if self.merge_mode == "concat":
            merged: list = [(*head[:-1], head[-1] * 2)]
        elif self.merge_mode is None:
            merged = [head, head]
        else:
            merged = [head]
        if self.return_state:
            return tuple(merged + states + states)
        return merged[0] if len(merged) == 1 else tuple(merged)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            layer=keras.saving.serialize_keras_object(self.forward_layer),
            backward_layer=keras.saving.serialize_keras_object(self.backward_layer),
            merge_mode=self.merge_mode,
        )
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "ScanBidirectional":
        config = dict(config)
        for key in ("layer", "backward_layer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)
