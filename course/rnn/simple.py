"""The vanilla (Elman) RNN cell: h_t = g(x_t W_x + h_{t-1} W_h + b)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from course.rnn.cell_base import RecurrentCell
from course.rnn.cell_layer import CellLayer
from course.rnn.layer import named_as_keras


@keras.saving.register_keras_serializable(package="course")
class SimpleRNNCell(RecurrentCell):
    """One step of a vanilla RNN, with `keras.layers.SimpleRNNCell`'s weights.

    Weights: `kernel` is W_x `(D, H)`, `recurrent_kernel` is W_h `(H, H)`,
    `bias` is `(H,)`. The output is the new hidden state; W_y lives in a
    `Dense` layer on top, as in Keras.
    """

    gates = 1

    def __init__(self, units: int, **kwargs: Any) -> None:
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, **kwargs)
        self.state_size = units

    def build(self, input_shape: tuple) -> None:
        self._add_kernels(int(input_shape[-1]))
        self._add_bias((self.units,))
        self.built = True

    def step_projected(self, projected: tf.Tensor, states: Any, recurrent_masks: Any = None) -> tuple:
        h_prev = self._first_state(states)  # (B, H)
        h = self.activation(projected + self.recurrent_product(h_prev, self.recurrent_kernel, recurrent_masks))
        return h, [h]  # (B, H)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("recurrent_activation", None)
        return config


@named_as_keras("SimpleRNN")
@keras.saving.register_keras_serializable(package="course")
class ScanSimpleRNN(CellLayer):
    """`keras.layers.SimpleRNN`'s twin, run by our scan loop (`scan_rnn`).

    Args:
        units: hidden size H.
        return_sequences, return_state, go_backwards, zero_output_for_mask: as in Keras.
        **kwargs: cell arguments (activation, initialisers, regularizers,
            constraints, dropout, ...) and layer arguments (stateful, unroll,
            dtype, trainable, ...), all as in `keras.layers.SimpleRNN`.
    """

    cell_class = SimpleRNNCell
