"""Helpers for sequence tagging: word features, length-bucketed batches, confusions.

A tagger that only looks words up in a vocabulary knows nothing about a word
it never saw in training. Two cheap, per-word features carry most of what a
spelling says about a part of speech:

- the **suffix**, the last few characters in lower case (`-ing`, `-ly`,
  `-ed`, `-ion`), looked up in a vocabulary of suffixes seen in training;
- the **shape**, a small id built from five yes/no questions about the
  spelling (see `SHAPE_FLAGS`): capitalised? all capitals? any digit? a
  hyphen? no letter or digit at all (punctuation, symbols)?

`feature_ids` turns sentences into padded suffix and shape ids aligned with
the words (`course.data.length_buckets` batches them by length).
`confusion_matrix`, `most_confused` and `plot_confusions` show which tags a
tagger mixes up.

Nothing here imports TensorFlow; `plot_confusions` imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from course.data.vocab import Vocabulary

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes

SHAPE_FLAGS: tuple[str, ...] = (
    "starts with a capital",
    "all capitals (two letters or more)",
    "has a digit",
    "has a hyphen",
    "no letter or digit",
)
"""The yes/no questions behind `word_shape`; flag `i` adds `2**i` to the id."""

NUM_SHAPES: int = 1 + 2 ** len(SHAPE_FLAGS)
"""Number of shape ids, padding included: 0 is padding, words get 1..32."""


def _check_word(word: Any) -> str:
    if not isinstance(word, str):
        raise TypeError(f"Expected a word (str); got {type(word).__name__}: {word!r:.40}.")
    if not word:
        raise ValueError("Expected a non-empty word; got ''.")
    return word


def word_shape(word: str) -> int:
    """The shape id of a word: 1 plus one bit per flag of `SHAPE_FLAGS`.

    Args:
        word: The word, with its original capitalisation.

    Returns:
        An int in `[1, NUM_SHAPES)`; 0 is never returned (it is padding).
        For example `word_shape("dog") == 1`, `word_shape("Paris") == 1 + 1`,
        `word_shape("NASA") == 1 + 1 + 2`, `word_shape("3-D") == 1 + 4 + 8`
        and `word_shape(",") == 1 + 16`.

    Raises:
        TypeError: If `word` is not a str.
        ValueError: If `word` is empty.
    """
    word = _check_word(word)
    letters = [ch for ch in word if ch.isalpha()]
    flags = (
        word[0].isupper(),
        len(letters) >= 2 and all(ch.isupper() for ch in letters),
        any(ch.isdigit() for ch in word),
        "-" in word,
        not any(ch.isalnum() for ch in word),
    )
    return 1 + sum(1 << i for i, flag in enumerate(flags) if flag)


def suffix_of(word: str, length: int = 3) -> str:
    """The last `length` characters of `word`, lower-cased (the whole word if shorter).

    Args:
        word: The word.
        length: How many characters to keep (>= 1).

    Returns:
        The suffix, e.g. `suffix_of("Running") == "ing"`, `suffix_of("It") == "it"`.
    """
    word = _check_word(word)
    _check_positive_int(length, "length")
    return word.lower()[-length:]


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def _check_sentences(sentences: Any) -> list[Sequence[str]]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"`sentences` must be a list of word lists; got {type(sentences).__name__}.")
    for i, words in enumerate(sentences):
        if isinstance(words, str) or not isinstance(words, Sequence):
            raise TypeError(f"sentences[{i}] must be a list of words; got {type(words).__name__}: {words!r:.40}.")
    return list(sentences)


def build_suffix_vocab(sentences: Sequence[Sequence[str]], length: int = 3, min_count: int = 2) -> Vocabulary:
    """A vocabulary of the word suffixes seen in `sentences`.

    Args:
        sentences: Lists of words (training sentences).
        length: Suffix length, as in `suffix_of`.
        min_count: Suffixes seen fewer times map to `<unk>` (id 1).

    Returns:
        A `Vocabulary` with `<pad>` at 0, `<unk>` at 1, frequent suffixes first.
    """
    sentences = _check_sentences(sentences)
    return Vocabulary.build(([suffix_of(w, length) for w in words] for words in sentences), min_count=min_count)


def feature_ids(
    sentences: Sequence[Sequence[str]], suffix_vocab: Vocabulary, length: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Suffix ids and shape ids for a batch of sentences, padded with 0.

    Args:
        sentences: `N` lists of words (original capitalisation).
        suffix_vocab: From `build_suffix_vocab`; unknown suffixes map to 1.
        length: Suffix length the vocabulary was built with.

    Returns:
        `(suffix_ids, shape_ids)`, both int32 of shape `(N, T_max)` where
        `T_max` is the longest sentence; row `i` holds sentence `i`'s words
        in order, then zeros.
    """
    sentences = _check_sentences(sentences)
    if not isinstance(suffix_vocab, Vocabulary):
        raise TypeError(f"`suffix_vocab` must be a course.data.Vocabulary; got {type(suffix_vocab).__name__}.")
    t_max = max((len(words) for words in sentences), default=0)
    suffix_ids = np.zeros((len(sentences), t_max), np.int32)  # (N, T)
    shape_ids = np.zeros((len(sentences), t_max), np.int32)  # (N, T)
    for i, words in enumerate(sentences):
        suffix_ids[i, : len(words)] = suffix_vocab.encode([suffix_of(w, length) for w in words])
        shape_ids[i, : len(words)] = [word_shape(w) for w in words]
    return suffix_ids, shape_ids


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
    num_classes = _check_positive_int(num_classes, "num_classes")
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
    confusion = _check_confusion(confusion, labels)
    k = _check_positive_int(k, "k")
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(order, off.shape)
    return [(labels[i], labels[j], int(off[i, j])) for i, j in zip(rows, cols) if off[i, j] > 0]


def _check_confusion(confusion: Any, labels: Sequence[str]) -> np.ndarray:
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"`confusion` must be a square (C, C) matrix; got shape {confusion.shape}.")
    if len(labels) != confusion.shape[0]:
        raise ValueError(f"Expected {confusion.shape[0]} labels, one per row of `confusion`; got {len(labels)}.")
    return confusion


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

    confusion = _check_confusion(confusion, labels)
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
