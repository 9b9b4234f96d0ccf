"""What every recurrent cell here shares: units, activations, weights, dropout, config."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

# Constructor arguments a cell takes, in Keras' names; `CellLayer` routes these to its cell.
CELL_ARGS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
    "implementation",
    "unit_forget_bias",
    "reset_after",
)


def _dense(x: Any, kernel: Any, bias: Any = None) -> tf.Tensor:
    """`x W + b` over the last axis of `x` of any rank, as one 2-D matrix product and a bias add.

    On the CPU, TensorFlow fuses a 2-D `MatMul` and its `BiasAdd` into one
    kernel, and the bias' gradient is one `BiasAddGrad`, not a reduction over
    every leading axis (what `x @ W + b` on a `(T, B, D)` sequence costs).
    """
    x = tf.convert_to_tensor(x)
    width = kernel.shape[-1]
    flat = x if x.shape.rank == 2 else tf.reshape(x, [-1, tf.shape(x)[-1]])  # (N, D)
    out = tf.matmul(flat, kernel)  # (N, W)
    if bias is not None:
        out = tf.nn.bias_add(out, bias)
    if x.shape.rank != 2:
        out = tf.reshape(out, tf.concat([tf.shape(x)[:-1], [width]], axis=0))
        out.set_shape(x.shape[:-1].concatenate([width]))  # (..., W)
    return out


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be a number between 0 and 1; got {value!r}.")
    return float(value)


class RecurrentCell(keras.layers.Layer):
    """Base for cells that follow Keras' contract: `call(x_t, states) -> (y_t, new_states)`.

    Subclasses set `gates` (how many blocks of `units` columns the kernels
    hold, in Keras' order) and implement `build` and `step_projected`. Weight
    names and shapes match Keras' own cells, so `set_weights(keras_layer.get_weights())`
    copies weights in either direction.

    Args:
        units: width of the hidden state `h_t`.
        activation: the activation `g` of the candidate state.
        recurrent_activation: the gates' activation.
        use_bias: whether the cell has biases.
        kernel_initializer, recurrent_initializer, bias_initializer: as in Keras.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: as in Keras.
        kernel_constraint, recurrent_constraint, bias_constraint: as in Keras.
        dropout: fraction of the inputs dropped; one mask per sequence, in training only.
        recurrent_dropout: fraction of the previous state dropped, likewise.
        seed: seed of the dropout masks.
        implementation: Keras' 1 or 2; as in Keras it only decides whether a
            gated cell draws one dropout mask per gate (1) or one in all (2).
            `recurrent_dropout > 0` implies 1.
    """

    gates = 1
    output_is_first_state = True  # y_t is h_t: the loop need not carry the output separately
    # Project every step's input before the loop (one matmul) rather than inside it, step by step.
    # Before the loop saves ops per step but copies a (T, B, gates * H) sequence twice (into the
    # loop's list, and its gradient out of the backward loop): a gain for one gate, a loss for
    # three or four (measured with bench/cells.py; see the cells' own settings).
    project_before_loop = True

    def __init__(
        self,
        units: int,
        activation: str | Any = "tanh",
        recurrent_activation: str | Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str | Any = "glorot_uniform",
        recurrent_initializer: str | Any = "orthogonal",
        bias_initializer: str | Any = "zeros",
        kernel_regularizer: str | Any = None,
        recurrent_regularizer: str | Any = None,
        bias_regularizer: str | Any = None,
        kernel_constraint: str | Any = None,
        recurrent_constraint: str | Any = None,
        bias_constraint: str | Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        implementation: int = 2,
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
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = _rate("dropout", dropout)
        self.recurrent_dropout = _rate("recurrent_dropout", recurrent_dropout)
        self.implementation = 1 if self.recurrent_dropout else implementation
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def output_size(self) -> int:
        return self.units

    # --- weights -----------------------------------------------------------------

    def _add_kernels(self, input_dim: int) -> None:
        width = self.units * self.gates
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )

    def _add_bias(self, shape: tuple, initializer: Any = None) -> None:
        self.bias = (
            self.add_weight(
                shape=shape,
                initializer=initializer or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
            if self.use_bias
            else None
        )

    # --- dropout -----------------------------------------------------------------

    def dropout_masks(self, x_0: Any, h_0: Any, training: bool | None) -> tuple[list | None, list | None]:
        """Keras' dropout masks for one batch of sequences, reused at every step.

        Drawn in Keras' order from `seed_generator` (input masks, then
        recurrent masks; one per gate with `implementation=1`), and drawn
        whenever a rate is set, as Keras does, so a seed gives Keras' masks.

        Args:
            x_0: one step of inputs, `(B, D)`.
            h_0: the first state, `(B, H)`.
            training: masks apply only when true.

        Returns:
            `(input_masks, recurrent_masks)`: each None or a list of `(B, D)` /
            `(B, H)` masks (1 or `gates` of them).
        """
        count = self.gates if self.implementation == 1 else 1

        def draw(like: Any, rate: float) -> list | None:
            if rate <= 0:
                return None
            ones = keras.ops.ones_like(like)
            masks = [keras.random.dropout(ones, rate=rate, seed=self.seed_generator) for _ in range(count)]
            return masks if training and rate < 1.0 else None

        return draw(x_0, self.dropout), draw(h_0, self.recurrent_dropout)

    # --- the step ----------------------------------------------------------------

    def project_inputs(self, inputs: Any, input_masks: Sequence[Any] | None = None) -> Any:
        """The input's share of every gate: `x W (+ input bias)`, `(..., D) -> (..., gates * H)`.

        With dropout masks (`(B, D)` each, broadcast over any leading time
        axis), gate block g reads `x * masks[g]` (one mask: every block).
        """
        kernel, bias = self.kernel, self._input_bias()
        if not input_masks:
            return _dense(inputs, kernel, bias)
        if len(input_masks) == 1:
            return _dense(inputs * input_masks[0], kernel, bias)
        kernels = tf.split(kernel, len(input_masks), axis=-1)
        biases = [None] * len(input_masks) if bias is None else tf.split(bias, len(input_masks), axis=-1)
        blocks = [_dense(inputs * m, k, b) for m, k, b in zip(input_masks, kernels, biases)]
        return tf.concat(blocks, axis=-1)

    def _input_bias(self) -> Any:
        return self.bias if self.use_bias else None

    @staticmethod
    def recurrent_product(h: tf.Tensor, kernel: Any, masks: Sequence[Any] | None) -> tf.Tensor:
        """`h U`, block g of U reading `h * masks[g]` when recurrent dropout masks are given."""
        if not masks:
            return tf.matmul(h, kernel)
        if len(masks) == 1:
            return tf.matmul(h * masks[0], kernel)
        blocks = tf.split(kernel, len(masks), axis=-1)
        return tf.concat([tf.matmul(h * m, k) for m, k in zip(masks, blocks)], axis=-1)

    def step_projected(self, projected: Any, states: Any, recurrent_masks: Sequence[Any] | None = None) -> tuple:
        """One step given `project_inputs(x_t)`: returns `(y_t, new_states)`."""
        raise NotImplementedError

    def call(self, inputs: Any, states: Any, training: bool | None = None) -> tuple:
        """One step, `(B, D)` and states in, `(y_t, new_states)` out.

        Dropout is the loop's job (`scan_rnn` draws one mask per sequence),
        so a cell called on its own, or under `keras.layers.RNN`, drops nothing.
        """
        return self.step_projected(self.project_inputs(inputs), states)

    @staticmethod
    def _first_state(states: Any) -> Any:
        return states[0] if isinstance(states, (list, tuple)) else states

    def get_initial_state(self, batch_size: Any = None) -> list:
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [keras.ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in sizes]

    def get_config(self) -> dict:
        config = super().get_config()
        reg, con = keras.regularizers.serialize, keras.constraints.serialize
        config.update(
            units=self.units,
            activation=keras.activations.serialize(self.activation),
            recurrent_activation=keras.activations.serialize(self.recurrent_activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            kernel_regularizer=reg(self.kernel_regularizer),
            recurrent_regularizer=reg(self.recurrent_regularizer),
            bias_regularizer=reg(self.bias_regularizer),
            kernel_constraint=con(self.kernel_constraint),
            recurrent_constraint=con(self.recurrent_constraint),
            bias_constraint=con(self.bias_constraint),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        return config
