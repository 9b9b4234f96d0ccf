"""Pictures of a classifier's mistakes: the notebooks' plots that are more than one matplotlib call.

- `plot_confusion_matrix`: a 2 x 2 table of counts and row shares (A4).
- `plot_confusions`: a tagger's confusion matrix as row shares (A5).

Importing this module does not import matplotlib; the functions do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from course.classification import check_confusion, most_confused

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    from matplotlib.axes import Axes


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


def plot_confusions(
    confusion: np.ndarray, labels: Sequence[str], k: int = 10, ax: "matplotlib.axes.Axes | None" = None
) -> "matplotlib.axes.Axes":
    """Plots the part of a confusion matrix that holds the `k` largest mistakes.

    Only the classes involved in those mistakes are shown (rows gold,
    columns predicted). Colours are row-normalised (the share of each gold
    class that went to each prediction, diagonal left blank so that mistakes
    stand out) and every non-zero cell is annotated with its count.

    Args:
        confusion: `(C, C)` counts, rows gold and columns predicted.
        labels: `C` class names.
        k: How many of the largest mistakes decide the classes shown.
        ax: Axes to draw on (default: a new figure).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    confusion = check_confusion(confusion, labels)
    mistakes = most_confused(confusion, labels, k)
    if not mistakes:
        raise ValueError("The confusion matrix has no mistake to show (all counts are on the diagonal).")
    index = {label: i for i, label in enumerate(labels)}
    shown = sorted({index[g] for g, _, _ in mistakes} | {index[p] for _, p, _ in mistakes})
    sub = confusion[np.ix_(shown, shown)].astype(np.float64)  # (S, S)
    totals = confusion[shown].sum(axis=1, keepdims=True).astype(np.float64)  # (S, 1): all of each gold class
    share = np.divide(sub, totals, out=np.zeros_like(sub), where=totals > 0)  # (S, S)
    np.fill_diagonal(share, np.nan)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * len(shown), 0.6 + 0.55 * len(shown)))
    image = ax.imshow(share, cmap="Reds", vmin=0.0)
    names = [labels[i] for i in shown]
    ax.set_xticks(range(len(shown)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(shown)), names)
    ax.set_xlabel("predicted tag")
    ax.set_ylabel("gold tag")
    for r in range(len(shown)):
        for c in range(len(shown)):
            count = int(sub[r, c])
            if count and r != c:
                ax.text(c, r, str(count), ha="center", va="center", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label="share of the gold tag's tokens")
    return ax
