"""The time loop: one recurrence over time, a scan (see `scan`).

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
    """Runs `cell` over the time axis of `inputs` with the scan function (`scan`).

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
        unroll: a Python loop over a time axis of static length instead of the scan.

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
        """One step with Keras' masking: at a masked step the states stay, the output repeats (or is 0)."""
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

    scan_elems = (elems,) if keep is None else (elems, keep)
    if getattr(cell, "output_is_first_state", False):
        return _scan_states_only(step, scan_elems, keep, initial_states, zero_output_for_mask)

    def scan_step(carry, elems_t):
        y_t, new_states = step(carry[0], carry[1:], elems_t[0], elems_t[1] if keep is not None else None)
        return (y_t, *new_states)

    outputs_tm, final = scan(scan_step, scan_elems, (zero_out, *initial_states))
    return final[0], tf.transpose(outputs_tm, [1, 0, 2]), list(final[1:])  # (B, H), (B, T, H), states


def _scan_states_only(step, scan_elems, keep, initial_states, zero_output_for_mask):
    """The loop for cells whose output is their first state: it carries only the states.

    The outputs are the first state's sequence, with Keras' masked outputs
    restored afterwards: zero at masked steps (`zero_output_for_mask`), else
    zero until the first real step (later masked steps repeat the state).
    """

    def scan_step(states, elems_t):
        _, new_states = step(states[0], states, elems_t[0], elems_t[1] if keep is not None else None)
        return tuple(new_states)

    outputs_tm, final = scan(scan_step, scan_elems, tuple(initial_states))  # (T, B, H)
    if keep is not None:
        shown = keep if zero_output_for_mask else tf.cumsum(tf.cast(keep, tf.int32), axis=0) > 0  # (T, B)
        outputs_tm = tf.where(shown[..., None], outputs_tm, tf.zeros_like(outputs_tm))
    return outputs_tm[-1], tf.transpose(outputs_tm, [1, 0, 2]), list(final)


def scan(fn: Callable, elems: tuple, initializer: tuple) -> tuple[tf.Tensor, tuple]:
    """The scan function: `carry_t = fn(carry_{t-1}, elems_t)` along axis 0 of `elems`.

    Like `tf.scan`, but it stacks only the first carried tensor (the output
    sequence) and returns the final carry. `tf.scan` stacks every carried
    tensor, an LSTM's cell state included, and under XLA on CPU that made
    our LSTM 1.2-1.3x Keras' time; this loop is `tf.scan`'s own machinery,
    `tf.while_loop` over `TensorArray`s, without the extra stacks.

    Args:
        fn: `(carry tuple, elems_t tuple) -> new carry tuple`.
        elems: tensors with the time axis first, `(T, ...)` each.
        initializer: the first carry, a tuple of tensors.

    Returns:
        `(stacked, final)`: `carry[0]` at every step `(T, ...)`, and the last carry.
    """
    steps = tf.shape(elems[0])[0]
    readers = [tf.TensorArray(e.dtype, size=steps, element_shape=e.shape[1:]).unstack(e) for e in elems]
    first = initializer[0]
    written = tf.TensorArray(first.dtype, size=steps, element_shape=first.shape)

    def body(t, written, *carry):
        new = tuple(fn(carry, tuple(r.read(t) for r in readers)))
        return (t + 1, written.write(t, new[0]), *new)

    _, written, *final = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), written, *initializer),
        maximum_iterations=steps,
        parallel_iterations=32,
    )
    return written.stack(), tuple(final)
