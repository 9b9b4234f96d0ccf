"""Keras layers of the course beyond the recurrent ones (those are in `course.rnn`).

`MaskedGlobalMaxPooling1D`: pooling over time that respects a padding mask.

Keras' `GlobalMaxPooling1D` ignores the mask. After a masked
`Bidirectional` layer the padded steps hold zeros, so its maximum is really
`max(real steps, 0)`: a unit whose values are all negative on a short review
reports 0, a value that came from padding. `MaskedGlobalMaxPooling1D` takes the maximum over the
real steps only.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="course")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """The largest value of each feature over the unmasked time steps.

    Input `(B, T, D)` with an optional mask `(B, T)` (True = a real step);
    output `(B, D)`, with no mask. A row whose steps are all masked gives
    zeros.

    Example:

    >>> x = np.array([[[-1.0], [-3.0], [0.0]]], "float32")
    >>> MaskedGlobalMaxPooling1D()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[-1.0]]
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return ops.max(inputs, axis=1)  # (B, D)
        real = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (B, T, 1)
        lowest = ops.full_like(inputs, float("-inf"))  # (B, T, D)
        pooled = ops.max(ops.where(real, inputs, lowest), axis=1)  # (B, D)
        any_real = ops.any(real, axis=1)  # (B, 1)
        return ops.where(any_real, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None  # one vector per sequence: nothing left to mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise ValueError(f"MaskedGlobalMaxPooling1D expects inputs (batch, time, features); got {input_shape}.")
        return (input_shape[0], input_shape[2])
