"""Judging a classifier beyond its accuracy: confusion matrices and the errors worth reading.

- `confusion_matrix`: counts of (true, predicted) pairs over any number of
  classes, with an optional padding mask (a tagger's tags).
- `binary_confusion_matrix`, `binary_scores`: the 2 x 2 table of 0/1 labels,
  and accuracy, precision, recall and F1 of the positive class.
- `most_confused`: the (true, predicted) pairs a classifier mixes up most.
- `most_confident_errors`: the mistakes a model was surest about, to read.

Pictures of these are in `course.plots`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course.validation import positive_int


def _binary_labels(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {array.shape}.")
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"`{name}` must hold 0/1 labels; got values {np.unique(array)[:5].tolist()}.")
    return array.astype(np.int64)


def check_confusion(confusion: Any, labels: Sequence[str]) -> np.ndarray:
    """`confusion` as an array; raises ValueError unless it is square with one label per row."""
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"`confusion` must be a square (C, C) matrix; got shape {confusion.shape}.")
    if len(labels) != confusion.shape[0]:
        raise ValueError(f"Expected {confusion.shape[0]} labels, one per row of `confusion`; got {len(labels)}.")
    return confusion


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int, mask: Any = None) -> np.ndarray:
    """Counts of (gold class, predicted class) pairs.

    Args:
        y_true: Gold class ids, any shape (e.g. `(B, T)`).
        y_pred: Predicted class ids, the same shape.
        num_classes: `C`; every id must lie in `[0, C)`.
        mask: Optional 0/1 or bool array of the same shape; only true
            positions are counted (use it to leave out padding).

    Returns:
        An int64 array of shape `(C, C)`: entry `[i, j]` counts positions
        whose gold class is `i` and predicted class is `j`.
    """
    num_classes = positive_int(num_classes, "num_classes")
    t = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true)
    p = np.asarray(y_pred.numpy() if hasattr(y_pred, "numpy") else y_pred)
    if t.shape != p.shape:
        raise ValueError(f"`y_pred` must have the shape of `y_true` {t.shape}; got {p.shape}.")
    for name, ids in (("y_true", t), ("y_pred", p)):
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"`{name}` must hold integer class ids; got dtype {ids.dtype}.")
    if mask is not None:
        m = np.asarray(mask.numpy() if hasattr(mask, "numpy") else mask)
        if m.shape != t.shape:
            raise ValueError(f"`mask` must have the shape of `y_true` {t.shape}; got {m.shape}.")
        t, p = t[m.astype(bool)], p[m.astype(bool)]
    t, p = t.reshape(-1).astype(np.int64), p.reshape(-1).astype(np.int64)
    for name, ids in (("y_true", t), ("y_pred", p)):
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f"`{name}` ids must lie in [0, {num_classes}); got values in [{ids.min()}, {ids.max()}].")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def binary_confusion_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
    """Counts of (true class, predicted class) pairs for 0/1 labels.

    Args:
        y_true: True labels, shape `(N,)`.
        y_pred: Predicted labels, shape `(N,)`.

    Returns:
        An int64 array `(2, 2)`: row = true class, column = predicted class, so
        `[[TN, FP], [FN, TP]]` with 1 as the positive class.
    """
    t, p = _binary_labels(y_true, "y_true"), _binary_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same shape; got {t.shape} and {p.shape}.")
    return confusion_matrix(t, p, num_classes=2)


def binary_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (1).

    A score whose denominator is 0 is reported as 0.0.

    Returns:
        `{"accuracy", "precision", "recall", "f1"}` as floats.
    """
    (tn, fp), (fn, tp) = binary_confusion_matrix(y_true, y_pred)
    total = tn + fp + fn + tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float((tp + tn) / total) if total else 0.0, "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def most_confused(confusion: np.ndarray, labels: Sequence[str], k: int = 10) -> list[tuple[str, str, int]]:
    """The `k` most frequent mistakes of a confusion matrix.

    Args:
        confusion: `(C, C)` counts, rows gold and columns predicted.
        labels: `C` class names.
        k: How many mistakes to return.

    Returns:
        Up to `k` tuples `(gold, predicted, count)` with `count > 0`, largest
        first (ties in reading order of the matrix).
    """
    confusion = check_confusion(confusion, labels)
    k = positive_int(k, "k")
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(order, off.shape)
    return [(labels[i], labels[j], int(off[i, j])) for i, j in zip(rows, cols) if off[i, j] > 0]


def most_confident_errors(y_true: Any, probs: Any, k: int = 5, threshold: float = 0.5) -> np.ndarray:
    """Indices of the misclassified examples the model was surest about.

    Args:
        y_true: True 0/1 labels, shape `(N,)`.
        probs: Predicted probabilities of class 1, shape `(N,)`.
        k: How many to return (fewer if there are fewer errors).
        threshold: Probability above which the prediction is 1.

    Returns:
        An int64 array of at most `k` indices, most confident error first
        (largest `|prob - threshold|`).
    """
    t = _binary_labels(y_true, "y_true")
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"`probs` must have the shape of `y_true` {t.shape}; got {p.shape}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"`k` must be an int >= 0; got {k!r}.")
    wrong = np.flatnonzero((p > threshold).astype(np.int64) != t)
    order = np.argsort(-np.abs(p[wrong] - threshold), kind="stable")
    return wrong[order][:k].astype(np.int64)
