"""The gated recurrent unit (GRU): a reset gate and an update gate."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from course.rnn.cell_base import RecurrentCell
from course.rnn.cell_layer import CellLayer
from course.rnn.layer import named_as_keras


@keras.saving.register_keras_serializable(package="course")
class GRUCell(RecurrentCell):
    """One GRU step with `keras.layers.GRUCell`'s weight layout.

    Gate blocks in the kernels are ordered (z, r, h): update gate, reset gate,
    candidate. With `reset_after=True` (Keras' default) the bias is `(2, 3H)`,
    an input bias and a recurrent bias, and the reset gate multiplies the
    recurrent term after the matrix product:

        z = σ(x W_z + h U_z + b_z)          update gate
        r = σ(x W_r + h U_r + b_r)          reset gate
        ĥ = g(x W_h + r ⊙ (h U_h + b'_h))   candidate
        h' = z ⊙ h + (1 - z) ⊙ ĥ

    With `reset_after=False` the bias is `(3H,)` and the candidate is
    `g(x W_h + (r ⊙ h) U_h + b_h)`.
    """

    gates = 3
    project_before_loop = False  # each step projects its own input, as Keras' cell does

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = reset_after
        self.state_size = units

    def build(self, input_shape: tuple) -> None:
        self._add_kernels(int(input_shape[-1]))
        self._add_bias((2, 3 * self.units) if self.reset_after else (3 * self.units,))
        self.built = True

    def _input_bias(self) -> Any:
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def step_projected(self, x_proj: tf.Tensor, states: Any, recurrent_masks: Any = None) -> tuple:
        h_prev = self._first_state(states)  # (B, H)
        H = self.units
        x_z, x_r, x_h = tf.split(x_proj, 3, axis=-1)  # (B, H) each
        if self.reset_after:
            h_proj = self.recurrent_product(h_prev, self.recurrent_kernel, recurrent_masks)  # (B, 3H)
            if self.bias is not None:
                h_proj = h_proj + self.bias[1]
            h_z, h_r, h_h = tf.split(h_proj, 3, axis=-1)
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            candidate = self.activation(x_h + r * h_h)
        else:
            masks = list(recurrent_masks or [])
            masks = masks * 3 if len(masks) == 1 else masks
            h_zr = self.recurrent_product(h_prev, self.recurrent_kernel[:, : 2 * H], masks[:2])  # (B, 2H)
            z = self.recurrent_activation(x_z + h_zr[:, :H])
            r = self.recurrent_activation(x_r + h_zr[:, H:])
            h_h = h_prev * masks[2] if masks else h_prev
            candidate = self.activation(x_h + tf.matmul(r * h_h, self.recurrent_kernel[:, 2 * H :]))
        h = z * h_prev + (1.0 - z) * candidate  # (B, H)
        return h, [h]

    def get_config(self) -> dict:
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


@named_as_keras("GRU")
@keras.saving.register_keras_serializable(package="course")
class ScanGRU(CellLayer):
    """`keras.layers.GRU`'s twin, run by our scan loop (`scan_rnn`) (same weights, same outputs)."""

    cell_class = GRUCell
    has_cudnn_option = True  # accepted for Keras configs; "auto" and False both mean our loop
