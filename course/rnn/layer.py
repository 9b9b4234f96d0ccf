"""`ScanRNN`: a Keras layer around `scan_rnn`, with `keras.layers.RNN`'s arguments."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import tensorflow as tf

from course.rnn.scan import _state_sizes, output_size_of, scan_rnn, zero_states


def named_as_keras(keras_name: str) -> Callable[[type], type]:
    """A class decorator: the layer class takes Keras' class name as its `__name__`.

    Keras' weights files (`.weights.h5`, and the weights inside `.keras`)
    address each layer of a model by its class name in snake case
    (`layers/gru/cell/vars/0`), not by the layer's own name. With Keras'
    name, a file saved from a model built on Keras' `GRU` loads into the same
    model built on `ScanGRU`, and the reverse. The Python name (`__qualname__`,
    what `import` and pickling use) and the name the class is registered under
    for serialisation (`course>ScanGRU`) stay ours; apply this decorator
    above `register_keras_serializable`.

    Args:
        keras_name: the Keras class this layer stands in for, e.g. "GRU".
    """

    def rename(cls: type) -> type:
        cls.__name__ = keras_name
        return cls

    return rename


@named_as_keras("RNN")
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
        stateful: each batch starts from the previous batch's final states
            (kept in `states`; `reset_state()` zeroes them). Needs a static batch size.
        unroll: unroll the loop in Python (the time length must be static).
        **kwargs: layer arguments (`name`, `dtype`, `trainable`, `activity_regularizer`).
    """

    def __init__(
        self,
        cell: keras.layers.Layer,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        zero_output_for_mask: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(cell, (list, tuple)):
            raise ValueError(
                "ScanRNN takes one cell; got a list of cells. For a deep RNN use "
                "StackedRNN([ScanRNN(cell) for cell in cells])."
            )
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
        self.stateful = stateful
        self.unroll = unroll
        self.supports_masking = True
        self.states = None
        self._expected_batch_size = None
        # As keras.layers.RNN: the cell's state sizes as a list, and whether the cell has one state.
        size = cell.state_size
        self.single_state = not isinstance(size, (list, tuple))
        self.state_size = [size] if self.single_state else list(size)

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        input_shape = sequences_shape
        if len(input_shape) != 3:
            raise ValueError(
                f"{self.__class__.__qualname__} expects inputs of shape (batch, time, features); "
                f"got {tuple(input_shape)}."
            )
        if self.unroll and input_shape[1] is None:
            raise ValueError(
                "Cannot unroll a recurrent layer over a time axis of unknown length; got inputs of shape "
                f"{tuple(input_shape)}. Give the time length (e.g. keras.Input((T, D))) or use unroll=False."
            )
        if isinstance(self.cell, keras.layers.Layer) and not self.cell.built:
            self.cell.build((input_shape[0], input_shape[-1]))
            self.cell.built = True
        if self.stateful:
            if self.states is not None:
                self.reset_state()
            else:
                if input_shape[0] is None:
                    raise ValueError(
                        "A stateful recurrent layer needs a static batch size; got inputs of shape "
                        f"{tuple(input_shape)}. Give it, e.g. keras.Input(batch_shape=(B, T, D))."
                    )
                self._create_state_variables(int(input_shape[0]))
        self.built = True

    def _create_state_variables(self, batch_size: int) -> None:
        variables = [
            keras.Variable(s, trainable=False, dtype=self.variable_dtype, name="rnn_state")
            for s in self.get_initial_state(batch_size)
        ]
        # Not tracked as weights, like keras.layers.RNN's states: they are not saved or copied.
        object.__setattr__(self, "states", variables)
        object.__setattr__(self, "_expected_batch_size", batch_size)

    def reset_state(self) -> None:
        """Zeroes the states a stateful layer carries between batches."""
        for variable in self.states or []:
            variable.assign(keras.ops.zeros_like(variable.value))

    def reset_states(self) -> None:
        """Alias of `reset_state` (Keras 2's name)."""
        self.reset_state()

    def get_initial_state(self, batch_size: Any) -> list[tf.Tensor]:
        get = getattr(self.cell, "get_initial_state", None)
        if get is not None:
            states = get(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return zero_states(self.cell, batch_size, getattr(self.cell, "compute_dtype", self.compute_dtype))

    def _initial_state(self, inputs: tf.Tensor, initial_state: Any) -> list:
        if self.stateful:
            batch = inputs.shape[0]
            if self._expected_batch_size is not None and batch is not None and batch != self._expected_batch_size:
                raise ValueError(
                    "A stateful recurrent layer keeps its states per batch row, so the batch size "
                    f"must stay {self._expected_batch_size}; got a batch of {batch}."
                )
        if initial_state is None:
            initial_state = self.states if self.stateful else self.get_initial_state(tf.shape(inputs)[0])
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        n_states = len(_state_sizes(self.cell))
        if len(initial_state) != n_states:
            raise ValueError(
                f"Expected {n_states} initial state tensor(s) for {type(self.cell).__name__}; "
                f"got {len(initial_state)}."
            )
        return [keras.ops.convert_to_tensor(s) for s in initial_state]

    def inner_loop(
        self, sequences: tf.Tensor, initial_state: Sequence[tf.Tensor], mask: tf.Tensor | None, training: bool | None = False
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """The time loop alone, as `keras.layers.RNN.inner_loop`: `scan_rnn` over `sequences`.

        Args:
            sequences: `(B, T, D)` inputs.
            initial_state: the `(B, S_i)` states to start from, one per entry of `state_size`.
            mask: optional `(B, T)` boolean mask.
            training: whether dropout applies.

        Returns:
            `(last_output, outputs, states)`: `(B, H)`, `(B, T, H)` and a list of
            `(B, S_i)`; as in Keras, without `return_sequences` the outputs are
            the last output alone, `(B, 1, H)`.
        """
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        last, outputs, states = scan_rnn(
            self.cell,
            sequences,
            list(initial_state),
            mask=mask,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
            training=training,
            unroll=self.unroll,
        )
        return last, (outputs if self.return_sequences else last[:, None]), states

    def call(
        self,
        sequences: tf.Tensor,
        initial_state: Sequence[tf.Tensor] | tf.Tensor | None = None,
        mask: tf.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        """Runs the layer over `sequences` `(B, T, D)`.

        Returns:
            The output, `(B, T, H)` with `return_sequences` else `(B, H)`;
            with `return_state`, the tuple `(output, *final_states)`, as Keras returns.
        """
        if getattr(self, "use_cudnn", None) is True:
            raise ValueError(
                "use_cudnn=True was given, but the scan layers never use cuDNN; "
                "pass use_cudnn='auto' or False (or use Keras' own layer)."
            )
        last, outputs, states = self.inner_loop(
            sequences, self._initial_state(sequences, initial_state), mask, training=training
        )
        if self.stateful:
            for variable, state in zip(self.states, states):
                variable.assign(tf.cast(state, variable.dtype))
        states = [tf.cast(s, self.compute_dtype) for s in states]
        output = tf.cast(outputs if self.return_sequences else last, self.compute_dtype)
        if self.return_state:
            return (output, *states)
        return output

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        input_shape = sequences_shape
        units = output_size_of(self.cell)
        out = (input_shape[0], input_shape[1], units) if self.return_sequences else (input_shape[0], units)
        if self.return_state:
            return (out, *[(input_shape[0], s) for s in _state_sizes(self.cell)])
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
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
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "ScanRNN":
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"], custom_objects=custom_objects)
        return cls(**config)
