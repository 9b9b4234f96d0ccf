"""The time loop: one recurrence over time, written on `tf.scan`.

Every cell in this package follows Keras' cell contract,
`cell(x_t, states) -> (y_t, new_states)` with a `state_size`, so the same cell
runs under `scan_rnn` (ours) and under `keras.layers.RNN` (Keras').
A cell may also offer `project_inputs(x)` and `step_projected(x_proj_t, states)`
(with `call` their composition): `scan_rnn` then projects every time step's
input in one matrix product before the loop, the classic speed-up.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf


def _state_sizes(cell: Any) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def output_size_of(cell: Any) -> int:
    """The width of `y_t` for a cell (its `output_size`, else its first state)."""
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else int(_state_sizes(cell)[0])


def zero_states(cell: Any, batch_size: tf.Tensor | int, dtype: tf.DType) -> list[tf.Tensor]:
    """Zero initial states, one `(B, size)` tensor per entry of `state_size`."""
    return [tf.zeros(tf.stack([batch_size, size]), dtype=dtype) for size in _state_sizes(cell)]


def scan_rnn(
    cell: Any,
    inputs: tf.Tensor,
    initial_states: Sequence[tf.Tensor],
    mask: tf.Tensor | None = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
    """Runs `cell` over the time axis of `inputs` with `tf.scan`.

    Args:
        cell: a callable `cell(x_t, states) -> (y_t, new_states)`.
        inputs: `(B, T, D)` batch-major sequences.
        initial_states: list of `(B, S_i)` tensors, one per state.
        mask: optional `(B, T)` boolean mask; at a masked step the states are
            carried through unchanged and the output repeats the previous one
            (or is zero when `zero_output_for_mask`), as in Keras.
        go_backwards: process the sequence from its last step to its first;
            outputs are returned in processing order, as Keras does.
        zero_output_for_mask: write zeros at masked steps instead of the
            previous output.

    Returns:
        `(last_output, outputs, final_states)`: `(B, H)`, `(B, T, H)` and a
        list of `(B, S_i)` tensors.
    """
    if inputs.shape.rank != 3:
        raise ValueError(
            f"Expected inputs of shape (batch, time, features); got shape {inputs.shape}."
        )
    initial_states = [tf.convert_to_tensor(s, dtype=inputs.dtype) for s in initial_states]
    time_major = tf.transpose(inputs, [1, 0, 2])  # (T, B, D)
    step_fn = cell
    if hasattr(cell, "project_inputs") and hasattr(cell, "step_projected"):
        # Fast path: one large matmul for every step's input projection, so
        # the loop body keeps only the recurrent product.
        if not cell.built:
            cell.build(tuple(inputs.shape[:1]) + tuple(inputs.shape[2:]))
        time_major = cell.project_inputs(time_major)  # (T, B, gates * H)
        step_fn = cell.step_projected
    use_mask = mask is not None
    elems: tuple = (time_major,)
    if use_mask:
        elems += (tf.transpose(tf.cast(mask, tf.bool), [1, 0]),)  # (T, B)
    if go_backwards:
        elems = tuple(tf.reverse(e, [0]) for e in elems)

    batch = tf.shape(inputs)[0]
    zero_out = tf.zeros(tf.stack([batch, output_size_of(cell)]), dtype=inputs.dtype)

    def step(carry, elems_t):
        prev_output, states = carry
        y_t, new_states = step_fn(elems_t[0], list(states))
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        if use_mask:
            keep = elems_t[1][:, None]  # (B, 1)
            fallback = tf.zeros_like(y_t) if zero_output_for_mask else prev_output
            y_t = tf.where(keep, y_t, fallback)
            new_states = [tf.where(keep, n, s) for n, s in zip(new_states, states)]
        return y_t, tuple(new_states)

    outputs_tm, states_tm = tf.scan(step, elems, initializer=(zero_out, tuple(initial_states)))
    outputs = tf.transpose(outputs_tm, [1, 0, 2])  # (B, T, H)
    final_states = [s[-1] for s in states_tm]
    return outputs_tm[-1], outputs, final_states


@keras.saving.register_keras_serializable(package="course")
class ScanRNN(keras.layers.Layer):
    """A recurrent layer that runs any Keras-contract cell with `scan_rnn`.

    It mirrors `keras.layers.RNN`'s arguments, so a layer built on our cells
    (or Keras' own cells) can be swapped for its Keras twin.

    Args:
        cell: a cell with `call(x_t, states) -> (y_t, new_states)` and `state_size`.
        return_sequences: return the `(B, T, H)` sequence rather than the last output.
        return_state: also return the final states.
        go_backwards: read the sequence in reverse.
        zero_output_for_mask: zeros, not the previous output, at masked steps.
    """

    def __init__(
        self,
        cell: keras.layers.Layer,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not hasattr(cell, "state_size") or not callable(cell):
            raise TypeError(
                f"Expected a cell with `call(x_t, states)` and `state_size`; got {type(cell).__name__}."
            )
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"{self.__class__.__name__} expects inputs of shape (batch, time, features); "
                f"got {tuple(input_shape)}."
            )
        if not self.cell.built:
            self.cell.build((input_shape[0], input_shape[-1]))
        self.built = True

    def get_initial_state(self, batch_size: Any) -> list[tf.Tensor]:
        return zero_states(self.cell, batch_size, self.compute_dtype)

    def call(
        self,
        inputs: tf.Tensor,
        initial_state: Sequence[tf.Tensor] | tf.Tensor | None = None,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        if initial_state is None:
            initial_state = self.get_initial_state(tf.shape(inputs)[0])
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        n_states = len(_state_sizes(self.cell))
        if len(initial_state) != n_states:
            raise ValueError(
                f"Expected {n_states} initial state tensor(s) for {type(self.cell).__name__}; "
                f"got {len(initial_state)}."
            )
        last, outputs, states = scan_rnn(
            self.cell,
            inputs,
            list(initial_state),
            mask=mask,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        output = outputs if self.return_sequences else last
        if self.return_state:
            return [output, *states]
        return output

    def compute_output_shape(self, input_shape: tuple) -> Any:
        units = output_size_of(self.cell)
        out = (input_shape[0], input_shape[1], units) if self.return_sequences else (input_shape[0], units)
        if self.return_state:
            return [out] + [(input_shape[0], s) for s in _state_sizes(self.cell)]
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(_state_sizes(self.cell))
        return out_mask

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            cell=keras.saving.serialize_keras_object(self.cell),
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> "ScanRNN":
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
