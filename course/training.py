"""Gradient clipping by global norm, for custom training loops and for `model.fit`.

Exploding gradients make a recurrent network diverge in one step. Clipping by global
norm rescales all gradients together so that their joint L2 norm is at most `clip_norm`:

    norm = sqrt(sum_i ||g_i||^2);   g_i <- g_i * clip_norm / max(norm, clip_norm)

The direction of the update is kept; only its length is capped. The same maths runs in
three places here: `clip_by_global_norm` (a function), `train_step` / `ClippedTrainStep`
(a custom loop) and `ClippingModel` (a `keras.Model` whose `fit` logs `grad_norm` and
`clipped_grad_norm`, the per-epoch means of the norm before and after clipping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import keras
import tensorflow as tf


@dataclass
class TrainingConfig:
    """Settings of a small training run.

    Attributes:
        clip_norm: maximum global gradient norm; `None` turns clipping off. Default 1.0,
            a common choice for RNN language models.
        learning_rate: optimizer step size. Default 1e-3 (Adam's usual value).
        epochs: passes over the training data. Default 5.
        batch_size: sequences per batch. Default 32.
    """

    clip_norm: float | None = 1.0
    learning_rate: float = 1e-3
    epochs: int = 5
    batch_size: int = 32

    def __post_init__(self) -> None:
        _check_clip_norm(self.clip_norm)
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be positive, got {self.learning_rate}.")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")


def _check_clip_norm(clip_norm: Any) -> None:
    if clip_norm is None:
        return
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float)):
        raise TypeError(f"`clip_norm` must be a positive number or None, got {type(clip_norm).__name__}.")
    if not clip_norm > 0:
        raise ValueError(f"`clip_norm` must be positive (or None for no clipping), got {clip_norm}.")


def _values(g: Any) -> tf.Tensor:
    return g.values if isinstance(g, tf.IndexedSlices) else g


def global_norm(grads: Sequence[Any]) -> tf.Tensor:
    """L2 norm of all gradients taken together; `None` entries are skipped.

    Args:
        grads: list of tensors (any shapes), `tf.IndexedSlices` or `None`.

    Returns:
        A float32 scalar tensor.
    """
    squares = [tf.reduce_sum(tf.square(tf.cast(_values(g), tf.float32))) for g in grads if g is not None]
    if not squares:
        return tf.constant(0.0, tf.float32)
    return tf.sqrt(tf.add_n(squares))


def clip_by_global_norm(grads: Sequence[Any], clip_norm: float | None
                        ) -> tuple[list[Any], tf.Tensor, tf.Tensor]:
    """Rescales `grads` so that their global norm is at most `clip_norm`.

    Args:
        grads: list of gradient tensors (any shapes), `tf.IndexedSlices` or `None` (for
            variables the loss does not depend on; kept as `None`).
        clip_norm: the maximum global norm (> 0), or `None` to leave `grads` unchanged.

    Returns:
        `(clipped_grads, norm_before, norm_after)`: a list like `grads`, and two float32
        scalar tensors. `norm_after == min(norm_before, clip_norm)` up to rounding.
    """
    if isinstance(grads, (tf.Tensor, tf.Variable)) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"`grads` must be a list or tuple of tensors, got {type(grads).__name__}.")
    _check_clip_norm(clip_norm)
    norm_before = global_norm(grads)
    if clip_norm is None:
        return list(grads), norm_before, norm_before
    clip = tf.constant(float(clip_norm), tf.float32)
    scale = clip / tf.maximum(norm_before, clip)  # 1 when no clipping is needed
    clipped: list[Any] = []
    for g in grads:
        if g is None:
            clipped.append(None)
        elif isinstance(g, tf.IndexedSlices):
            clipped.append(tf.IndexedSlices(g.values * tf.cast(scale, g.values.dtype), g.indices, g.dense_shape))
        else:
            clipped.append(g * tf.cast(scale, g.dtype))
    return clipped, norm_before, global_norm(clipped)


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer,
               loss_fn: Callable[[Any, Any], Any], x: Any, y: Any,
               clip_norm: float | None = 1.0) -> dict[str, tf.Tensor]:
    """One clipped gradient step, for a custom training loop.

    Args:
        model: a Keras model mapping `x` to predictions.
        optimizer: a Keras optimizer.
        loss_fn: `loss_fn(y_true, y_pred)` returning a scalar (or per-example losses,
            which are averaged). The model's own `model.losses` are added.
        x: a batch of inputs, e.g. `(B, T)` token ids or `(B, T, D)` features.
        y: the matching targets.
        clip_norm: maximum global gradient norm, or `None` for no clipping.

    Returns:
        `{"loss", "grad_norm", "clipped_norm"}` as scalar tensors (`float(...)` them);
        the function can be wrapped in `tf.function`.
    """
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable as loss_fn(y_true, y_pred), got {type(loss_fn).__name__}.")
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = tf.reduce_mean(loss_fn(y, y_pred))
        if model.losses:
            loss = loss + tf.add_n([tf.cast(l, loss.dtype) for l in model.losses])
    weights = model.trainable_weights
    grads = tape.gradient(loss, weights)
    clipped, norm, clipped_norm = clip_by_global_norm(grads, clip_norm)
    optimizer.apply_gradients([(g, w) for g, w in zip(clipped, weights) if g is not None])
    return {"loss": loss, "grad_norm": norm, "clipped_norm": clipped_norm}


class ClippedTrainStep:
    """A compiled (`tf.function`) clipped training step bound to a model and optimizer.

    Args:
        model: the Keras model to train.
        optimizer: a Keras optimizer.
        loss_fn: `loss_fn(y_true, y_pred)`.
        clip_norm: maximum global gradient norm, or `None`.
        jit: wrap the step in `tf.function` (default True).

    Example:

    ```python
    step = ClippedTrainStep(model, keras.optimizers.Adam(), loss_fn, clip_norm=1.0)
    for x, y in dataset:
        logs = step(x, y)   # {"loss", "grad_norm", "clipped_norm"} as python floats
    ```
    """

    def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer,
                 loss_fn: Callable[[Any, Any], Any], clip_norm: float | None = 1.0, jit: bool = True):
        _check_clip_norm(clip_norm)
        self.model, self.optimizer, self.loss_fn, self.clip_norm = model, optimizer, loss_fn, clip_norm
        step = lambda x, y: train_step(model, optimizer, loss_fn, x, y, clip_norm)  # noqa: E731
        self._step = tf.function(step) if jit else step

    def __call__(self, x: Any, y: Any) -> dict[str, float]:
        return {k: float(v) for k, v in self._step(x, y).items()}


class ClippingMixin:
    """Adds gradient clipping by global norm to a `keras.Model`'s `train_step`.

    Put it before `keras.Model` in the bases: `class MyModel(ClippingMixin, keras.Model)`.
    See `ClippingModel` for the behaviour.
    """

    def __init__(self, *args: Any, clip_norm: float | None = 1.0, **kwargs: Any):
        _check_clip_norm(clip_norm)
        super().__init__(*args, **kwargs)
        self.clip_norm = clip_norm
        # Metrics set as attributes are tracked, so `fit` resets them every epoch.
        self.grad_norm_tracker = keras.metrics.Mean(name="grad_norm")
        self.clipped_grad_norm_tracker = keras.metrics.Mean(name="clipped_grad_norm")

    def train_step(self, data: Any) -> dict[str, Any]:
        """One clipped step of `fit` (TensorFlow backend); returns the logged metrics."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            self._loss_tracker.update_state(
                loss, sample_weight=tf.shape(next(i for i in tf.nest.flatten(x) if i is not None))[0])
        weights = self.trainable_weights
        grads = tape.gradient(loss, weights)  # unscaled: clipping needs the true norm
        clipped, norm, clipped_norm = clip_by_global_norm(grads, self.clip_norm)
        self.optimizer.apply_gradients([(g, w) for g, w in zip(clipped, weights) if g is not None])
        self.grad_norm_tracker.update_state(norm)
        self.clipped_grad_norm_tracker.update_state(clipped_norm)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _functional_args(args: tuple, kwargs: dict) -> bool:
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or ("inputs" in kwargs and "outputs" in kwargs)


class FunctionalClippingModel(ClippingMixin, keras.Model):
    """The class a functional `ClippingModel(inputs, outputs)` really is.

    Keras rewrites the bases of a model class the first time it is built functionally;
    keeping that on this class leaves `ClippingModel` usable for subclassing.
    """


class ClippingModel(ClippingMixin, keras.Model):
    """A `keras.Model` whose `fit` clips gradients by global norm and logs the norms.

    Build it functionally, `ClippingModel(inputs, outputs, clip_norm=1.0)` (the result is
    a `ClippingMixin` functional model), or subclass it instead of `keras.Model` and
    define `call`. `fit`'s history then holds `grad_norm` (global norm before clipping)
    and `clipped_grad_norm` (after), each the mean over the epoch's batches. Requires the
    TensorFlow backend. The loss is not scaled, so use it without a
    `LossScaleOptimizer` (mixed-precision loss scaling).

    Args:
        clip_norm: maximum global gradient norm, or `None` to only log the norm.
        *args, **kwargs: passed to `keras.Model`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is ClippingModel and _functional_args(args, kwargs):
            return FunctionalClippingModel(*args, **kwargs)  # not a ClippingModel: __init__ is not rerun
        return super().__new__(cls, *args, **kwargs)
