"""Long short-term memory (LSTM): input, forget and output gates and a cell state."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from course.rnn.cell_base import RecurrentCell
from course.rnn.cell_layer import CellLayer
from course.rnn.layer import named_as_keras


@keras.saving.register_keras_serializable(package="course")
class LSTMCell(RecurrentCell):
    """One LSTM step with `keras.layers.LSTMCell`'s weight layout.

    Gate blocks in the kernels are ordered (i, f, c, o); the states are
    `[h, c]`, the hidden state and the cell state:

        i = σ(x W_i + h U_i + b_i)     input gate
        f = σ(x W_f + h U_f + b_f)     forget gate
        o = σ(x W_o + h U_o + b_o)     output gate
        c' = f ⊙ c + i ⊙ g(x W_c + h U_c + b_c)
        h' = o ⊙ g(c')

    Args:
        unit_forget_bias: start the forget gate's bias at 1, as Keras does.
    """

    gates = 4
    project_before_loop = False  # each step projects its own input, as Keras' cell does

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def build(self, input_shape: tuple) -> None:
        self._add_kernels(int(input_shape[-1]))
        self._add_bias((4 * self.units,), self._bias_initializer())
        self.built = True

    def _bias_initializer(self) -> Any:
        """Keras' layout: the forget gate's block starts at 1 when `unit_forget_bias`."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def initializer(shape: Any, dtype: Any = None) -> tf.Tensor:
            return tf.concat(
                [base((units,), dtype=dtype), tf.ones((units,), dtype=dtype), base((units * 2,), dtype=dtype)],
                axis=0,
            )

        return initializer

    def _input_bias(self) -> Any:
        # The bias is added after both products (see `step_projected`), so `project_inputs` is `x W` alone.
        return None

    def step_projected(self, projected: tf.Tensor, states: Any, recurrent_masks: Any = None) -> tuple:
        h_prev, c_prev = states[0], states[1]  # (B, H), (B, H)
        z = projected + self.recurrent_product(h_prev, self.recurrent_kernel, recurrent_masks)  # (B, 4H)
        if self.use_bias:
            # Added to the sum, as Keras' cell does: a bias right after a MatMul is fused with it
            # on the CPU, and in float16 oneDNN's fused kernel took 100x the plain product's time.
            z = tf.nn.bias_add(z, self.bias)
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        o = self.recurrent_activation(z_o)
        c = f * c_prev + i * self.activation(z_c)  # (B, H)
        h = o * self.activation(c)  # (B, H)
        return h, [h, c]

    def get_config(self) -> dict:
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@named_as_keras("LSTM")
@keras.saving.register_keras_serializable(package="course")
class ScanLSTM(CellLayer):
    """`keras.layers.LSTM`'s twin, run by our scan loop (`scan_rnn`) (same weights, same outputs)."""

    cell_class = LSTMCell
    has_cudnn_option = True  # accepted for Keras configs; "auto" and False both mean our loop
