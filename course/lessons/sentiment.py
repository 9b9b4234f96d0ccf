"""What is specific to lesson A4 (sentiment on IMDB).

- `tokenize`: lower-cased words of a review, HTML line breaks removed.
- `BagOfWords`: binary, count or TF-IDF document vectors from padded id
  matrices, for the bag-of-words baseline.
- `classifier_weights`, `gru_cell_from_weights`: a trained classifier's weights
  as plain arrays, and a Keras GRU cell that holds given weights.

The reviews and length-bucketed batches are in `course.data`; the evaluation beyond accuracy is in `course.classification`.
Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras


_HTML_TAG = re.compile(r"<[^>]*>")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Splits a review into lower-case words.

    HTML tags (IMDB reviews contain `<br />`) become spaces; a word is a run of
    letters and digits, optionally followed by an apostrophe and more letters,
    so `"don't"` and `"film's"` stay one token. Everything else (punctuation,
    other symbols) is dropped.

    Args:
        text: The review.

    Returns:
        The list of tokens, e.g.
        `tokenize("Don't watch it!<br />2/10") == ["don't", "watch", "it", "2", "10"]`.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    return _WORD.findall(_HTML_TAG.sub(" ", text.lower()))


BOW_MODES = ("binary", "count", "tfidf")

_ROWS_AT_ONCE = 1024


def _check_ids(token_ids: Any, vocab_size: int) -> np.ndarray:
    ids = np.asarray(token_ids)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"`token_ids` must be a 2-D integer array (N, T) of padded ids; got dtype {ids.dtype} "
                         f"and shape {ids.shape}.")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"`token_ids` must lie in [0, {vocab_size}) for vocab_size={vocab_size}; "
                         f"got values in [{ids.min()}, {ids.max()}].")
    return ids


def _counts(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Term counts per document, padding (id 0) left out: (N, T) -> (N, V) float32."""
    n = ids.shape[0]
    counts = np.zeros((n, vocab_size), np.float32)  # (N, V)
    rows = np.repeat(np.arange(n), ids.shape[1])  # (N * T,)
    np.add.at(counts, (rows, ids.reshape(-1)), 1.0)
    counts[:, 0] = 0.0  # padding is not a word
    return counts


class BagOfWords:
    """Turns padded id matrices into bag-of-words document vectors.

    Word order is thrown away: a review becomes one vector of length
    `vocab_size` that says which words it contains. Padding (id 0) is never
    counted; the out-of-vocabulary id (1) is counted like any word.

    Modes:
        - `"binary"`: 1 if the word occurs, else 0.
        - `"count"`: how often the word occurs.
        - `"tfidf"`: `(1 + log count) * idf`, each row scaled to unit L2 norm,
          with the smoothed `idf = log((1 + N) / (1 + df)) + 1` learned by
          `fit` from the N training documents (`df`: how many contain the
          word). This matches scikit-learn's
          `TfidfVectorizer(sublinear_tf=True)`.

    Args:
        vocab_size: Number of ids, padding and OOV included.
        mode: One of `"binary"`, `"count"`, `"tfidf"`.

    Example:

    >>> bow = BagOfWords(vocab_size=5, mode="count")
    >>> bow.fit_transform(np.array([[2, 3, 2, 0]])).tolist()
    [[0.0, 0.0, 2.0, 1.0, 0.0]]
    """

    def __init__(self, vocab_size: int, mode: str = "tfidf"):
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 2:
            raise ValueError(f"`vocab_size` must be an int >= 2 (padding and OOV included); got {vocab_size!r}.")
        if mode not in BOW_MODES:
            raise ValueError(f"`mode` must be one of {list(BOW_MODES)}; got {mode!r}.")
        self.vocab_size = int(vocab_size)
        self.mode = mode
        self.idf: np.ndarray | None = None

    def fit(self, token_ids: Any) -> "BagOfWords":
        """Learns the inverse document frequencies (used by `"tfidf"` only).

        Args:
            token_ids: Training documents as padded ids, shape `(N, T)`.

        Returns:
            `self`.
        """
        ids = _check_ids(token_ids, self.vocab_size)
        df = (_counts(ids, self.vocab_size) > 0).sum(axis=0)  # (V,)
        self.idf = (np.log((1.0 + len(ids)) / (1.0 + df)) + 1.0).astype(np.float32)  # (V,)
        return self

    def transform(self, token_ids: Any) -> np.ndarray:
        """Document vectors, shape `(N, vocab_size)`, float32.

        Raises:
            ValueError: In `"tfidf"` mode before `fit`.
        """
        ids = _check_ids(token_ids, self.vocab_size)
        if self.mode == "tfidf" and self.idf is None:
            raise ValueError("Call `fit` on the training documents before `transform` in 'tfidf' mode.")
        out = np.empty((len(ids), self.vocab_size), np.float32)  # (N, V)
        for start in range(0, len(ids), _ROWS_AT_ONCE):  # in slices, to bound the float32 temporaries
            out[start:start + _ROWS_AT_ONCE] = self._vectors(ids[start:start + _ROWS_AT_ONCE])
        return out

    def _vectors(self, ids: np.ndarray) -> np.ndarray:
        counts = _counts(ids, self.vocab_size)  # (n, V)
        if self.mode == "binary":
            return (counts > 0).astype(np.float32)
        if self.mode == "count":
            return counts
        present = counts > 0
        weights = np.zeros_like(counts)  # (n, V)
        weights[present] = 1.0 + np.log(counts[present])  # sublinear term frequency
        weights *= self.idf  # (n, V)
        norms = np.linalg.norm(weights, axis=1, keepdims=True)  # (n, 1)
        return weights / np.maximum(norms, 1e-12)

    def fit_transform(self, token_ids: Any) -> np.ndarray:
        """`fit(token_ids)` then `transform(token_ids)`."""
        return self.fit(token_ids).transform(token_ids)


def classifier_weights(model: "keras.Model") -> dict[str, Any]:
    """A trained Embedding -> GRU (or Bidirectional GRU) -> Dense classifier's weights.

    Args:
        model: A built model with one `Embedding`, one `GRU` or
            `Bidirectional(GRU)`, and a final `Dense` layer with one unit
            (layers without weights, such as dropout, are ignored).

    Returns:
        `{"embedding": (V, E), "forward": [kernel, recurrent_kernel, bias],
        "backward": [...] or None, "dense_kernel": (2H or H, 1),
        "dense_bias": (1,)}` as numpy arrays.

    Raises:
        ValueError: If the model does not have that shape.
    """
    import keras

    found: dict[str, Any] = {"backward": None}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            found["embedding"] = layer.get_weights()[0]
        elif isinstance(layer, keras.layers.Bidirectional):
            found["forward"] = layer.forward_layer.get_weights()
            found["backward"] = layer.backward_layer.get_weights()
        elif isinstance(layer, keras.layers.GRU):
            found["forward"] = layer.get_weights()
        elif isinstance(layer, keras.layers.Dense):
            found["dense_kernel"], found["dense_bias"] = layer.get_weights()
    missing = [k for k in ("embedding", "forward", "dense_kernel") if k not in found]
    if missing:
        kinds = [type(layer).__name__ for layer in model.layers]
        raise ValueError(f"Expected an Embedding, a GRU or Bidirectional(GRU) and a Dense layer; "
                         f"found no {missing} in layers {kinds}.")
    return found


def gru_cell_from_weights(kernel: Any, recurrent_kernel: Any, bias: Any) -> "keras.layers.GRUCell":
    """A `keras.layers.GRUCell` holding the given weights (Keras' layout).

    Call it as `h_t, _ = cell(x_t, [h_prev])` with `x_t` of shape `(B, D)` and
    `h_prev` of shape `(B, H)`.

    Args:
        kernel: Input weights, shape `(D, 3H)`.
        recurrent_kernel: Recurrent weights, shape `(H, 3H)`.
        bias: Input and recurrent biases, shape `(2, 3H)` (`reset_after=True`).

    Returns:
        The built cell.
    """
    import keras

    kernel, recurrent_kernel, bias = (np.asarray(w, np.float32) for w in (kernel, recurrent_kernel, bias))
    if kernel.ndim != 2 or recurrent_kernel.ndim != 2 or kernel.shape[1] % 3:
        raise ValueError(f"Expected kernel (D, 3H) and recurrent_kernel (H, 3H); got {kernel.shape} and "
                         f"{recurrent_kernel.shape}.")
    units = kernel.shape[1] // 3
    if recurrent_kernel.shape != (units, 3 * units) or bias.shape != (2, 3 * units):
        raise ValueError(f"With kernel {kernel.shape} (H = {units}) expected recurrent_kernel {(units, 3 * units)} "
                         f"and bias {(2, 3 * units)}; got {recurrent_kernel.shape} and {bias.shape}.")
    cell = keras.layers.GRUCell(units)
    cell.build((None, kernel.shape[0]))
    cell.set_weights([kernel, recurrent_kernel, bias])
    return cell
