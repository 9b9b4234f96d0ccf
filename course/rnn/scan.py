"""The time loop: one recurrence over time, written on `tf.scan`.

Every cell in this package follows Keras' cell contract,
`cell(x_t, states) -> (y_t, new_states)` with a `state_size`, so the same cell
runs under `scan_rnn` (ours) and under `keras.layers.RNN` (Keras').
A cell may also offer `project_inputs(x)` and `step_projected(x_proj_t, states)`
(with `call` their composition): `scan_rnn` then projects every time step's
input in one matrix product before the loop, the classic speed-up, and the
loop body keeps only the recurrent product.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

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


def loop_dtype(cell: Any, inputs: tf.Tensor) -> tf.DType:
    """The dtype the recurrence runs in: the cell's compute dtype, else the inputs' (if float)."""
    dtype = getattr(cell, "compute_dtype", None)
    if dtype is not None and tf.as_dtype(dtype).is_floating:
        return tf.as_dtype(dtype)
    return inputs.dtype if inputs.dtype.is_floating else tf.float32


def _takes_training(cell: Any) -> bool:
    call = getattr(cell, "call", cell)
    try:
        return "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def _step_function(cell: Any, inputs: tf.Tensor, states: list, training: bool | None) -> tuple[tf.Tensor, Callable]:
    """The sequence the loop reads (time-major) and the step that reads it."""
    time_major = tf.transpose(inputs, [1, 0, 2])  # (T, B, D)
    if hasattr(cell, "project_inputs") and hasattr(cell, "step_projected"):
        # Fast path: one large matmul for every step's input projection.
        if not cell.built:
            cell.build(tuple(inputs.shape[:1]) + tuple(inputs.shape[2:]))
        input_masks = recurrent_masks = None
        if hasattr(cell, "dropout_masks"):
            input_masks, recurrent_masks = cell.dropout_masks(inputs[:, 0], states[0], training)
        projected = cell.project_inputs(time_major, input_masks)  # (T, B, gates * H)

        def step(x_t, s):
            return cell.step_projected(x_t, s, recurrent_masks)

        return projected, step
    kwargs = {"training": training} if _takes_training(cell) else {}

    def call_cell(x_t, s):
        return cell(x_t, s, **kwargs)

    return time_major, call_cell


def scan_rnn(
    cell: Any,
    inputs: tf.Tensor,
    initial_states: Sequence[tf.Tensor],
    mask: tf.Tensor | None = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    training: bool | None = None,
    unroll: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
    """Runs `cell` over the time axis of `inputs` with `tf.scan`.

    Args:
        cell: a callable `cell(x_t, states) -> (y_t, new_states)`.
        inputs: `(B, T, D)` batch-major sequences (integers are cast to the
            cell's compute dtype).
        initial_states: list of `(B, S_i)` tensors, one per state.
        mask: optional `(B, T)` boolean mask; at a masked step the states are
            carried through unchanged and the output repeats the previous one
            (or is zero when `zero_output_for_mask`), as in Keras.
        go_backwards: process the sequence from its last step to its first;
            outputs are returned in processing order, as Keras does.
        zero_output_for_mask: write zeros at masked steps instead of the
            previous output.
        training: passed to the cell; a cell with `dropout_masks` draws its
            dropout masks once for the whole sequence.
        unroll: a Python loop over a time axis of static length instead of `tf.scan`.

    Returns:
        `(last_output, outputs, final_states)`: `(B, H)`, `(B, T, H)` and a
        list of `(B, S_i)` tensors, all in the loop's dtype (see `loop_dtype`).
    """
    if inputs.shape.rank != 3:
        raise ValueError(
            f"Expected inputs of shape (batch, time, features); got shape {inputs.shape}."
        )
    dtype = loop_dtype(cell, inputs)
    if not inputs.dtype.is_floating or hasattr(cell, "project_inputs"):
        inputs = tf.cast(inputs, dtype)
    initial_states = [tf.cast(tf.convert_to_tensor(s), dtype) for s in initial_states]
    elems, step_fn = _step_function(cell, inputs, initial_states, training)
    keep = None if mask is None else tf.transpose(tf.cast(mask, tf.bool), [1, 0])  # (T, B)
    if go_backwards:
        elems = tf.reverse(elems, [0])
        keep = None if keep is None else tf.reverse(keep, [0])

    def step(prev_output, states, x_t, keep_t):
        y_t, new_states = step_fn(x_t, list(states))
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        y_t = tf.cast(y_t, dtype)
        new_states = [tf.cast(n, dtype) for n in new_states]
        if keep_t is not None:
            k = keep_t[:, None]  # (B, 1)
            y_t = tf.where(k, y_t, tf.zeros_like(y_t) if zero_output_for_mask else prev_output)
            new_states = [tf.where(k, n, s) for n, s in zip(new_states, states)]
        return y_t, new_states

    batch = tf.shape(inputs)[0]
    zero_out = tf.zeros(tf.stack([batch, output_size_of(cell)]), dtype=dtype)
    if unroll:
        steps = inputs.shape[1]
        if steps is None:
            raise ValueError(
                "Cannot unroll a recurrent layer over a time axis of unknown length; "
                f"got inputs of shape {inputs.shape}. Give the time length (e.g. keras.Input((T, D))) "
                "or use unroll=False."
            )
        outputs, prev, states = [], zero_out, initial_states
        for t in range(steps):
            prev, states = step(prev, states, elems[t], None if keep is None else keep[t])
            outputs.append(prev)
        return prev, tf.stack(outputs, axis=1), list(states)

    def scan_step(carry, elems_t):
        prev_output, states = carry
        y_t, new_states = step(prev_output, states, elems_t[0], elems_t[1] if keep is not None else None)
        return y_t, tuple(new_states)

    scan_elems = (elems,) if keep is None else (elems, keep)
    outputs_tm, states_tm = tf.scan(scan_step, scan_elems, initializer=(zero_out, tuple(initial_states)))
    outputs = tf.transpose(outputs_tm, [1, 0, 2])  # (B, T, H)
    return outputs_tm[-1], outputs, [s[-1] for s in states_tm]
