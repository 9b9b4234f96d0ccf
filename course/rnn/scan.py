"""The time loop: one recurrence over time, a scan (see `scan`).

Every cell in this package follows Keras' cell contract,
`cell(x_t, states) -> (y_t, new_states)` with a `state_size`, so the same cell
runs under `scan_rnn` (ours) and under `keras.layers.RNN` (Keras').
A cell may also offer `project_inputs(x)` and `step_projected(x_proj_t, states)`
(with `call` their composition): `scan_rnn` then draws the dropout masks once
per sequence and, when the cell's `project_before_loop` is true, projects
every time step's input in one matrix product before the loop, the classic
speed-up, so the loop body keeps only the recurrent product.
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
        if not cell.built:
            cell.build(tuple(inputs.shape[:1]) + tuple(inputs.shape[2:]))
        input_masks = recurrent_masks = None
        if hasattr(cell, "dropout_masks"):
            input_masks, recurrent_masks = cell.dropout_masks(inputs[:, 0], states[0], training)
        if getattr(cell, "project_before_loop", True):
            # One large matmul for every step's input projection; the loop reads (T, B, gates * H).
            projected = cell.project_inputs(time_major, input_masks)

            def step(x_t, s):
                return cell.step_projected(x_t, s, recurrent_masks)

            return projected, step

        def project_and_step(x_t, s):
            return cell.step_projected(cell.project_inputs(x_t, input_masks), s, recurrent_masks)

        return time_major, project_and_step
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
    # `scan(..., reverse=True)` reads its inputs last step first (it pops them off a list's back), so
    # a forward pass hands it the reversed sequence: reversed here, before the projection widens it.
    def last_step_first(t: tf.Tensor) -> tf.Tensor:
        return t if go_backwards else tf.reverse(t, [1])

    elems, step_fn = _step_function(cell, last_step_first(inputs), initial_states, training)  # (T, B, ...)
    keep_popped = None if mask is None else tf.transpose(last_step_first(tf.cast(mask, tf.bool)), [1, 0])
    keep = None if keep_popped is None else tf.reverse(keep_popped, [0])  # (T, B), processing order

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
            prev, states = step(prev, states, elems[steps - 1 - t], None if keep is None else keep[t])
            outputs.append(prev)
        return prev, tf.stack(outputs, axis=1), list(states)

    scan_elems = (elems,) if keep_popped is None else (elems, keep_popped)  # read last step first
    if getattr(cell, "output_is_first_state", False):
        return _scan_states_only(step, scan_elems, keep, initial_states, zero_output_for_mask)

    def scan_step(carry, elems_t):
        y_t, new_states = step(carry[0], carry[1:], elems_t[0], elems_t[1] if keep is not None else None)
        return (y_t, *new_states)

    outputs_tm, final = scan(scan_step, scan_elems, (zero_out, *initial_states), reverse=True)
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

    outputs_tm, final = scan(scan_step, scan_elems, tuple(initial_states), reverse=True)  # (T, B, H)
    if keep is not None:
        shown = keep if zero_output_for_mask else tf.cumsum(tf.cast(keep, tf.int32), axis=0) > 0  # (T, B)
        outputs_tm = tf.where(shown[..., None], outputs_tm, tf.zeros_like(outputs_tm))
    return outputs_tm[-1], tf.transpose(outputs_tm, [1, 0, 2]), list(final)


def _element_shape(tensor: tf.Tensor) -> list[int]:
    """The shape of one time step of `tensor`, `-1` for an unknown size (a list op's element shape)."""
    return [-1 if d is None else int(d) for d in tensor.shape[1:]]


def scan(fn: Callable, elems: tuple, initializer: tuple, reverse: bool = False) -> tuple[tf.Tensor, tuple]:
    """The scan function: `carry_t = fn(carry_{t-1}, elems_t)` along axis 0 of `elems`.

    Like `tf.scan`, but it stacks only the first carried tensor (the output
    sequence) and returns the final carry. `tf.scan` stacks every carried
    tensor, an LSTM's cell state included, and under XLA on CPU that made
    our LSTM 1.2-1.3x Keras' time.

    The loop reads each step's elements by popping them off the back of a
    tensor list carried through the loop, not by indexing a list captured
    from outside it. The two differ in the backward pass: the gradient of a
    pop is a push onto the gradient's list, one step at a time, while an
    indexed read of a captured list makes every step's gradient a full
    `(T, ...)` list that is summed across the T steps, which grows with T
    squared (at T = 2,000 it doubled the time of a SimpleRNN's
    forward + backward pass).

    Args:
        fn: `(carry tuple, elems_t tuple) -> new carry tuple`.
        elems: tensors with the time axis first, `(T, ...)` each.
        initializer: the first carry, a tuple of tensors.
        reverse: read `elems` from the last step to the first (the outputs
            are still written in the order they are computed).

    Returns:
        `(stacked, final)`: `carry[0]` at every step `(T, ...)` (with `T`
        static when `elems` has it), and the last carry.
    """
    static_steps = elems[0].shape[0]
    steps = int(static_steps) if static_steps is not None else tf.shape(elems[0])[0]
    # Popping takes the list's last element first, so the list holds the steps in reverse reading order.
    lists = [
        tf.raw_ops.TensorListFromTensor(
            tensor=e if reverse else tf.reverse(e, [0]), element_shape=_element_shape(e)
        )
        for e in elems
    ]
    first = initializer[0]
    written = tf.TensorArray(first.dtype, size=steps, element_shape=first.shape)
    n_lists = len(lists)

    def body(t, written, *loop_vars):
        remaining, carry, elems_t = [], loop_vars[n_lists:], []
        for handle, e in zip(loop_vars[:n_lists], elems):
            handle, e_t = tf.raw_ops.TensorListPopBack(
                input_handle=handle, element_shape=_element_shape(e), element_dtype=e.dtype
            )
            e_t.set_shape(e.shape[1:])
            remaining.append(handle)
            elems_t.append(e_t)
        new = tuple(fn(tuple(carry), tuple(elems_t)))
        return (t + 1, written.write(t, new[0]), *remaining, *new)

    _, written, *final = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), written, *lists, *initializer),
        maximum_iterations=steps,
        parallel_iterations=32,
    )
    return written.stack(), tuple(final[n_lists:])
