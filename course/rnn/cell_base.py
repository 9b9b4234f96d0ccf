"""What every recurrent cell here shares: units, activations, initialisers, config."""

from __future__ import annotations

from typing import Any

import keras

from course.rnn.scan import ScanRNN


class RecurrentCell(keras.layers.Layer):
    """Base for cells that follow Keras' contract: `call(x_t, states) -> (y_t, new_states)`.

    Subclasses set `gates` (how many blocks of `units` columns the kernels
    hold, in Keras' order) and implement `build` and `call`. Weight names and
    shapes match Keras' own cells, so `set_weights(keras_layer.get_weights())`
    copies weights in either direction.

    Args:
        units: width of the hidden state `h_t`.
        activation: the activation `g` of the candidate state.
        recurrent_activation: the gates' activation.
        use_bias: whether the cell has biases.
        kernel_initializer, recurrent_initializer, bias_initializer: as in Keras.
    """

    gates = 1

    def __init__(
        self,
        units: int,
        activation: str | Any = "tanh",
        recurrent_activation: str | Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str | Any = "glorot_uniform",
        recurrent_initializer: str | Any = "orthogonal",
        bias_initializer: str | Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"`units` must be a positive integer; got {units!r}.")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def output_size(self) -> int:
        return self.units

    def _add_kernels(self, input_dim: int) -> None:
        width = self.units * self.gates
        self.kernel = self.add_weight(
            shape=(input_dim, width), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer, name="recurrent_kernel"
        )

    def project_inputs(self, inputs: Any) -> Any:
        """The input's share of every gate: `x W (+ input bias)`, `(..., D) -> (..., gates * H)`."""
        projected = keras.ops.matmul(inputs, self.kernel)
        bias = self._input_bias()
        return projected if bias is None else projected + bias

    def _input_bias(self) -> Any:
        return self.bias if self.use_bias else None

    def step_projected(self, projected: Any, states: Any) -> tuple:
        """One step given `project_inputs(x_t)`: returns `(y_t, new_states)`."""
        raise NotImplementedError

    def call(self, inputs: Any, states: Any, training: bool | None = None) -> tuple:
        return self.step_projected(self.project_inputs(inputs), states)

    @staticmethod
    def _first_state(states: Any) -> Any:
        return states[0] if isinstance(states, (list, tuple)) else states

    def get_initial_state(self, batch_size: Any = None) -> list:
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [keras.ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in sizes]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=keras.activations.serialize(self.activation),
            recurrent_activation=keras.activations.serialize(self.recurrent_activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


CELL_ARGS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "reset_after",
)


class CellLayer(ScanRNN):
    """A `ScanRNN` over one cell class, built from `units` like Keras' layers.

    Subclasses set `cell_class`. Cell arguments (activation, initialisers,
    ...) are accepted inline and appear inline in `get_config`, as in Keras.
    """

    cell_class: type[RecurrentCell] = RecurrentCell

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in CELL_ARGS}
        kwargs.pop("cell", None)
        super().__init__(
            self.cell_class(units, **cell_kwargs),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    @property
    def units(self) -> int:
        return self.cell.units

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("cell")
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "CellLayer":
        return cls(**config)
