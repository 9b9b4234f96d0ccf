"""Evaluating a binary classifier beyond its accuracy (lesson A4).

- `confusion_matrix`: counts of (true, predicted) pairs for 0/1 labels.
- `binary_scores`: accuracy, precision, recall and F1 of the positive class.
- `plot_confusion_matrix`: counts and row shares in one picture.
- `most_confident_errors`: the mistakes a model was surest about, to read.

Nothing here imports TensorFlow; `plot_confusion_matrix` imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from course import tagging

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def _binary_labels(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {array.shape}.")
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"`{name}` must hold 0/1 labels; got values {np.unique(array)[:5].tolist()}.")
    return array.astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
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
    return tagging.confusion_matrix(t, p, num_classes=2)


def binary_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (1).

    A score whose denominator is 0 is reported as 0.0.

    Returns:
        `{"accuracy", "precision", "recall", "f1"}` as floats.
    """
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    total = tn + fp + fn + tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float((tp + tn) / total) if total else 0.0, "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def plot_confusion_matrix(
    matrix: Any, class_names: Sequence[str] = ("negative", "positive"), ax: "Axes | None" = None, title: str = ""
) -> "Axes":
    """Draws a confusion matrix with counts and row percentages in each cell.

    Args:
        matrix: Counts, shape `(K, K)`, rows = true class.
        class_names: K names, in class-id order.
        ax: Axes to draw on (a new figure when `None`).
        title: Title of the plot.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(class_names):
        raise ValueError(f"`matrix` must be square with one row per class name ({len(class_names)}); "
                         f"got shape {m.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.8, 3.4))
    rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(m / rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            share = m[i, j] / rows[i, 0]
            ax.text(j, i, f"{m[i, j]}\n{share:.1%}", ha="center", va="center",
                    color="white" if share > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


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
