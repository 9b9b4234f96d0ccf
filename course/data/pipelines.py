"""Small helpers for batching variable-length id sequences (tf.data and numpy).

TensorFlow is imported inside the functions, so importing `course.data`
stays cheap (the autograder forks workers from a parent that must not have
run TensorFlow yet).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from course.validation import positive_int

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf


def _flatten(sequences: Sequence[Sequence[int]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (flat int32 values, row splits) for a list of id lists."""
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of id sequences; got {type(sequences).__name__}.")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    splits = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=splits[1:])
    if splits[-1]:
        flat = np.concatenate([np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences if len(s)])
    else:
        flat = np.zeros(0, dtype=np.int64)
    if flat.size and (flat.min() < np.iinfo(np.int32).min or flat.max() > np.iinfo(np.int32).max):
        raise ValueError(f"`{name}` holds ids outside the int32 range.")
    return flat.astype(np.int32), splits


def sequence_dataset(*sequences: Sequence[Sequence[int]]) -> "tf.data.Dataset":
    """Makes a dataset of variable-length int32 sequences.

    Args:
        *sequences: One or more lists of id sequences, all with the same number
            of items; with several, item `i` of each must have the same length
            (e.g. words and their tags).

    Returns:
        A `tf.data.Dataset` whose elements are 1-D int32 tensors of shape
        `(T_i,)`, or tuples of them when several lists are given.
    """
    import tensorflow as tf

    if not sequences:
        raise ValueError("`sequence_dataset` needs at least one list of sequences; got none.")
    parts = [_flatten(s, f"sequences[{k}]") for k, s in enumerate(sequences)]
    n = len(parts[0][1]) - 1
    for k, (_, splits) in enumerate(parts[1:], start=1):
        if len(splits) - 1 != n:
            raise ValueError(f"All lists must have the same number of items; list 0 has {n}, list {k} has {len(splits) - 1}.")
        if not np.array_equal(splits, parts[0][1]):
            bad = int(np.argmax(np.diff(splits) != np.diff(parts[0][1])))
            raise ValueError(f"Item {bad} of list {k} has a different length than item {bad} of list 0; aligned "
                             f"sequences (e.g. words and tags) must have equal lengths.")
    splits = tf.constant(parts[0][1])
    flats = [tf.constant(flat) for flat, _ in parts]

    def take(i: tf.Tensor):
        start, stop = splits[i], splits[i + 1]
        items = tuple(f[start:stop] for f in flats)  # each (T_i,)
        return items if len(items) > 1 else items[0]

    return tf.data.Dataset.range(n).map(take, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def padded_batches(
    dataset: "tf.data.Dataset",
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
    padding_value: int = 0,
    drop_remainder: bool = False,
) -> "tf.data.Dataset":
    """Shuffles (optionally) and batches a dataset, padding each batch to its
    longest element with `padding_value`.

    Args:
        dataset: A dataset of 1-D tensors, or of tuples of 1-D tensors (other
            components, e.g. scalar labels, are batched as they are).
        batch_size: Number of elements per batch.
        shuffle: Whether to shuffle the elements (reshuffled every epoch).
        seed: Seed of the shuffle, for repeatable order.
        padding_value: Value written beyond each sequence's end.
        drop_remainder: Whether to drop a last, smaller batch.

    Returns:
        A `tf.data.Dataset` of padded batches, shapes `(B, T_max)`, prefetched.
    """
    import tensorflow as tf

    check_batch_size(batch_size)
    if shuffle:
        size = dataset.cardinality()
        buffer = int(size) if int(size) > 0 else 10_000
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)

    def pad_of(spec):
        if spec.dtype == tf.string:
            return tf.constant("", tf.string)
        return tf.constant(padding_value, dtype=spec.dtype)

    padding_values = tf.nest.map_structure(pad_of, dataset.element_spec)
    return dataset.padded_batch(batch_size, padding_values=padding_values,
                                drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def check_batch_size(batch_size: int) -> None:
    """Raises `ValueError` unless `batch_size` is a positive int."""
    positive_int(batch_size, "batch_size")


def length_buckets(
    lengths: Sequence[int] | np.ndarray, batch_size: int, rng: np.random.Generator | None = None
) -> list[np.ndarray]:
    """Groups items of similar length into batches.

    Sorts the items by length and cuts the order into consecutive batches,
    so each batch is padded only up to lengths close to its own. With `rng`,
    ties are broken at random and the batches come in a random order.

    Args:
        lengths: Length of each item, shape `(N,)`.
        batch_size: Items per batch (the last batch may be smaller).
        rng: Optional random generator for the shuffles.

    Returns:
        A list of int64 index arrays that together hold `range(N)` once each.
    """
    check_batch_size(batch_size)
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and not np.issubdtype(lengths.dtype, np.integer)):
        raise ValueError(f"`lengths` must be a 1-D sequence of ints; got shape {lengths.shape}, dtype {lengths.dtype}.")
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"`lengths` must be >= 0; got {lengths.min()}.")
    tie_break = rng.random(lengths.size) if rng is not None else np.arange(lengths.size)
    order = np.lexsort((tie_break, lengths))  # by length, then by tie_break
    batches = [order[i : i + batch_size].astype(np.int64) for i in range(0, lengths.size, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def padding_fraction(lengths: Sequence[int] | np.ndarray, batches: Sequence[np.ndarray]) -> float:
    """The share of padded cells when each batch is padded to its longest item.

    Args:
        lengths: Length of each item, shape `(N,)`.
        batches: Index arrays, e.g. from `length_buckets`.

    Returns:
        `padded cells / all cells` over all batches, in [0, 1).
    """
    lengths = np.asarray(lengths)
    cells = real = 0
    for batch in batches:
        batch_lengths = lengths[np.asarray(batch, dtype=np.int64)]
        if batch_lengths.size:
            cells += int(batch_lengths.max()) * batch_lengths.size
            real += int(batch_lengths.sum())
    if cells == 0:
        raise ValueError("`batches` hold no token: expected at least one item of length >= 1.")
    return 1.0 - real / cells


def length_bucketed_dataset(
    token_ids: Any,
    labels: Any,
    batch_size: int,
    shuffle: bool = True,
    bucket_batches: int = 16,
    seed: int | None = None,
) -> "tf.data.Dataset":
    """Batches of reviews of similar length, each trimmed to its longest review.

    A recurrent layer runs once per time step, padding included (a masked
    step is skipped in effect but still costs the work). Sorting reviews by
    length inside windows of `bucket_batches * batch_size` reviews, then
    cutting every batch to its own longest review, removes most padding. With
    `shuffle`, the windows, the order inside them (for equal lengths) and the
    order of the batches change every epoch.

    Args:
        token_ids: Right-padded ids, shape `(N, T)` (padding id 0).
        labels: Labels, shape `(N,)`.
        batch_size: Reviews per batch.
        shuffle: Whether to reshuffle every epoch (off for evaluation: then the
            batches keep the reviews' order except for sorting in windows).
        bucket_batches: How many batches share one sorting window; 1 sorts
            nothing.
        seed: Seed of the shuffling (`None`: different every run).

    Returns:
        A `tf.data.Dataset` of `(ids, labels)` with shapes `(B, T_batch)` and
        `(B,)`.
    """
    import tensorflow as tf

    ids = np.asarray(token_ids)
    y = np.asarray(labels)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"`token_ids` must be a 2-D integer array (N, T); got dtype {ids.dtype}, shape {ids.shape}.")
    if y.shape != ids.shape[:1]:
        raise ValueError(f"`labels` must have shape ({ids.shape[0]},) to match `token_ids`; got {y.shape}.")
    positive_int(batch_size, "batch_size")
    positive_int(bucket_batches, "bucket_batches")
    lengths = (ids != 0).sum(axis=1)  # (N,)
    rng = np.random.default_rng(seed)
    window = bucket_batches * batch_size

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = rng.permutation(len(y)) if shuffle else np.arange(len(y))
        groups = []
        for start in range(0, len(order), window):
            chunk = order[start:start + window]
            groups += [chunk[rows] for rows in length_buckets(lengths[chunk], batch_size)]
        if shuffle:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        for group in groups:
            width = max(int(lengths[group].max()), 1)
            yield ids[group, :width], y[group]

    signature = (tf.TensorSpec((None, None), tf.as_dtype(ids.dtype)), tf.TensorSpec((None,), tf.as_dtype(y.dtype)))
    return tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2)
