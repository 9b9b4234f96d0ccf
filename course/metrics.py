"""Evaluation metrics for sequence models: perplexity, masked accuracy and loss, per-tag F1.

Perplexity is `exp` of the mean negative log-likelihood per predicted token. Three anchor
cases pin it down:

- a perfect model (probability 1 for every label) gives perplexity 1;
- a model that gives some label probability 0 gives perplexity `+inf`;
- the uniform model over a vocabulary of size `V` gives perplexity `V`.

Every function accepts numpy arrays or TensorFlow tensors, computes in float64 numpy and
returns python floats. Padding masks have shape `(B, T)` and hold 0/1 or booleans; only
positions where the mask is true count.
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Sequence

import keras
import numpy as np
from keras import ops


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"`{name}` must be an array or tensor, got None.")
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def _check_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Returns a boolean mask of `shape` (all True when `mask` is None)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = _to_numpy(mask, "mask")
    if m.shape != shape:
        raise ValueError(f"`mask` must have the shape of the targets {shape}, got shape {m.shape}.")
    if m.dtype != bool:
        if not np.all((m == 0) | (m == 1)):
            raise ValueError("`mask` must hold 0/1 or booleans, got other values "
                             f"(e.g. {m[(m != 0) & (m != 1)].flat[0]!r}).")
        m = m.astype(bool)
    if not m.any():
        raise ValueError("`mask` selects no token: expected at least one unmasked position.")
    return m


def _check_targets(targets: Any, scores: np.ndarray, scores_name: str) -> np.ndarray:
    t = _to_numpy(targets, "targets")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"`targets` must hold integer class ids, got dtype {t.dtype}.")
    if scores.shape[:-1] != t.shape:
        raise ValueError(f"`{scores_name}` must have shape targets.shape + (V,) = {t.shape} + (V,), "
                         f"got {scores.shape} for targets of shape {t.shape}.")
    V = scores.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= V):
        raise ValueError(f"`targets` must lie in [0, {V}) (the vocabulary size is {V}), "
                         f"got values in [{t.min()}, {t.max()}].")
    return t


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _target_log_probs_from_logits(logits: Any, targets: Any) -> np.ndarray:
    z = _to_numpy(logits, "logits")
    t = _check_targets(targets, z, "logits")
    logp = _log_softmax(z)  # (..., V)
    return np.take_along_axis(logp, t[..., None], axis=-1)[..., 0]  # (...)


def perplexity_from_log_likelihood(total_log_likelihood: float, n_tokens: int) -> float:
    """Perplexity from a total (natural-log) likelihood over `n_tokens` predicted tokens.

    Args:
        total_log_likelihood: sum of `log p(label)` over the tokens (<= 0; may be `-inf`).
        n_tokens: number of predicted tokens (> 0).

    Returns:
        `exp(-total_log_likelihood / n_tokens)` as a python float (`inf` if any token had
        probability 0).
    """
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)):
        raise TypeError(f"`n_tokens` must be an int, got {type(n_tokens).__name__}.")
    if n_tokens <= 0:
        raise ValueError(f"`n_tokens` must be positive, got {n_tokens}.")
    return perplexity_from_mean_nll(-float(total_log_likelihood) / int(n_tokens))


def perplexity_from_mean_nll(mean_nll: float) -> float:
    """Perplexity from a mean negative log-likelihood (a mean cross-entropy, in nats).

    Args:
        mean_nll: mean of `-log p(label)` per token (>= 0; may be `inf`).

    Returns:
        `exp(mean_nll)` as a python float; overflows to `inf`.
    """
    value = float(_to_numpy(mean_nll, "mean_nll"))
    if math.isnan(value):
        raise ValueError("`mean_nll` must be a number, got NaN.")
    if value < -1e-12:
        raise ValueError(f"`mean_nll` must be >= 0 (a negative log-probability), got {value}.")
    return math.inf if value > 709.0 else math.exp(value)


def perplexity_from_logits(logits: Any, targets: Any, mask: Any = None) -> float:
    """Perplexity of the labels under softmax(`logits`), over unmasked tokens.

    Args:
        logits: unnormalised scores, shape `(B, T, V)` (or any `targets.shape + (V,)`).
        targets: integer labels, shape `(B, T)`.
        mask: optional 0/1 or bool padding mask, shape `(B, T)`; 0 marks padding.

    Returns:
        The perplexity as a python float.
    """
    log_p = _target_log_probs_from_logits(logits, targets)  # (B, T)
    m = _check_mask(mask, log_p.shape)
    return perplexity_from_mean_nll(float(-np.mean(log_p[m])))


def perplexity_from_probs(probs: Any, targets: Any, mask: Any = None) -> float:
    """Perplexity of the labels under predicted distributions `probs`, over unmasked tokens.

    A probability of exactly 0 for an (unmasked) label gives `inf`, not NaN.

    Args:
        probs: probabilities in [0, 1], shape `(B, T, V)` (or any `targets.shape + (V,)`).
        targets: integer labels, shape `(B, T)`.
        mask: optional 0/1 or bool padding mask, shape `(B, T)`; 0 marks padding.

    Returns:
        The perplexity as a python float.
    """
    p = _to_numpy(probs, "probs").astype(np.float64)
    t = _check_targets(targets, p, "probs")
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1 + 1e-6):
        raise ValueError("`probs` must hold probabilities in [0, 1], got values in "
                         f"[{np.nanmin(p)}, {np.nanmax(p)}] (NaN present: {bool(np.isnan(p).any())}).")
    p_label = np.take_along_axis(p, t[..., None], axis=-1)[..., 0]  # (B, T)
    m = _check_mask(mask, p_label.shape)
    with np.errstate(divide="ignore"):
        log_p = np.log(p_label[m])
    return perplexity_from_mean_nll(float(-np.mean(log_p)))


def masked_sparse_crossentropy(y_true: Any, logits: Any, mask: Any = None) -> float:
    """Mean cross-entropy `-log softmax(logits)[y_true]` over unmasked tokens (nats).

    Args:
        y_true: integer labels, shape `(B, T)`.
        logits: unnormalised scores, shape `(B, T, V)`.
        mask: optional 0/1 or bool padding mask, shape `(B, T)`.

    Returns:
        The mean loss as a python float.
    """
    log_p = _target_log_probs_from_logits(logits, y_true)  # (B, T)
    m = _check_mask(mask, log_p.shape)
    return float(-np.mean(log_p[m]))


def masked_accuracy(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Fraction of unmasked positions where the prediction equals the label.

    Args:
        y_true: integer labels, shape `(B, T)`.
        y_pred: either predicted ids of shape `(B, T)` or scores (logits or probabilities)
            of shape `(B, T, V)`, reduced with argmax.
        mask: optional 0/1 or bool padding mask, shape `(B, T)`.

    Returns:
        The accuracy in [0, 1] as a python float.
    """
    t = _to_numpy(y_true, "y_true")
    p = _to_numpy(y_pred, "y_pred")
    if p.ndim == t.ndim + 1:
        p = np.argmax(p, axis=-1)
    if p.shape != t.shape:
        raise ValueError(f"`y_pred` must have shape {t.shape} (ids) or {t.shape} + (V,) (scores), "
                         f"got {p.shape}.")
    m = _check_mask(mask, t.shape)
    return float(np.mean(p[m] == t[m]))


def _flatten_labels(y: Any, name: str) -> np.ndarray:
    if isinstance(y, (list, tuple)) and y and all(isinstance(s, (list, tuple, np.ndarray)) for s in y):
        lengths = {len(s) for s in y}
        if len(lengths) > 1:  # ragged list of sentences
            return np.asarray([tag for s in y for tag in s])
    return _to_numpy(y, name)


def per_tag_scores(y_true: Any, y_pred: Any, labels: Sequence[Hashable] | None = None,
                   mask: Any = None) -> dict[Hashable, dict[str, float]]:
    """Precision, recall, F1 and support per tag, plus their macro average.

    Args:
        y_true: gold tags (ids or strings), shape `(B, T)`, `(N,)` or a ragged list of
            sentences.
        y_pred: predicted tags, same shape as `y_true`.
        labels: tags to report (default: every tag seen in `y_true` or `y_pred` at
            unmasked positions, sorted).
        mask: optional 0/1 or bool padding mask with the shape of `y_true`.

    Returns:
        `{tag: {"precision", "recall", "f1", "support"}}` plus a `"macro_avg"` entry (the
        unweighted mean over `labels`, support = total). A score whose denominator is 0
        is 0.0.
    """
    t = _flatten_labels(y_true, "y_true")
    p = _flatten_labels(y_pred, "y_pred")
    if p.shape != t.shape:
        raise ValueError(f"`y_pred` must have the shape of `y_true` {t.shape}, got {p.shape}.")
    m = _check_mask(mask, t.shape)
    t, p = t[m], p[m]
    if labels is None:
        labels = sorted(set(t.tolist()) | set(p.tolist()))
    scores: dict[Hashable, dict[str, float]] = {}
    for label in labels:
        tp = int(np.sum((t == label) & (p == label)))
        n_pred, n_true = int(np.sum(p == label)), int(np.sum(t == label))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true}
    n = max(len(scores), 1)
    scores["macro_avg"] = {
        key: sum(s[key] for s in scores.values()) / n for key in ("precision", "recall", "f1")}
    scores["macro_avg"]["support"] = int(sum(s["support"] for k, s in scores.items() if k != "macro_avg"))
    return scores


@keras.saving.register_keras_serializable(package="course")
class MaskedAccuracy(keras.metrics.Metric):
    """Token accuracy that ignores padded positions (`y_true == pad_id`).

    Usable in `model.compile(metrics=[MaskedAccuracy()])` for taggers and language models.

    Args:
        pad_id: label id that marks padding (default 0).
        name: metric name (default `"masked_accuracy"`).

    Call arguments (`update_state`):
        y_true: integer labels, shape `(B, T)`.
        y_pred: scores of shape `(B, T, V)` (argmax is taken) or ids of shape `(B, T)`.
        sample_weight: optional weights broadcastable to `(B, T)`.
    """

    def __init__(self, pad_id: int = 0, name: str = "masked_accuracy", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if isinstance(pad_id, bool) or not isinstance(pad_id, (int, np.integer)):
            raise TypeError(f"`pad_id` must be an int, got {type(pad_id).__name__}.")
        self.pad_id = int(pad_id)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_pred.shape) == len(y_true.shape) + 1:
            y_pred = ops.argmax(y_pred, axis=-1)  # (B, T)
        y_true = ops.cast(y_true, "int64")
        weight = ops.cast(ops.not_equal(y_true, self.pad_id), self.dtype)  # (B, T)
        if sample_weight is not None:
            weight = weight * ops.cast(sample_weight, self.dtype)
        hit = ops.cast(ops.equal(y_true, ops.cast(y_pred, "int64")), self.dtype)
        self.correct.assign_add(ops.sum(hit * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self) -> Any:
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self) -> None:
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pad_id": self.pad_id}
