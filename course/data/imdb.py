"""IMDB movie reviews (Maas et al., 2011) for sentiment classification.

`load_imdb` reads a local copy or downloads with tensorflow-datasets;
`load_reviews` is what lesson A4 trains on (a balanced 5,000 + 5,000 sample by
default).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from course.data import paths
from course.data.pipelines import check_batch_size

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

IMDB_SPLITS: tuple[str, ...] = ("train", "test")
"""Split names `load_imdb` accepts."""

TFDS_HOST = "storage.googleapis.com"


def _check_split(split: str) -> str:
    if not isinstance(split, str) or split not in IMDB_SPLITS:
        raise ValueError(f"Unknown IMDB split {split!r}; expected one of {list(IMDB_SPLITS)}.")
    return split


def _check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool):
        raise TypeError(f"`limit` must be an int or None; got {type(limit).__name__}: {limit!r}.")
    if limit < 0:
        raise ValueError(f"`limit` must be >= 0; got {limit}.")
    return int(limit)


def read_imdb_jsonl(path: str | os.PathLike, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Reads reviews from a JSON Lines file (optionally gzipped).

    Each line is an object with at least `text` and `label` (0 = negative,
    1 = positive).

    Args:
        path: The `.jsonl` or `.jsonl.gz` file.
        limit: Read only the first `limit` reviews; `None` for all.

    Returns:
        `(texts, labels)`: a list of str and an int64 array of shape `(N,)`.
    """
    limit = _check_limit(limit)
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    texts: list[str] = []
    labels: list[int] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if limit is not None and len(texts) >= limit:
                break
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], int(row["label"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: expected a JSON object with 'text' and 'label'; {exc}") from exc
            if label not in (0, 1):
                raise ValueError(f"{path}:{lineno}: expected label 0 or 1; got {label}.")
            texts.append(text)
            labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)


def load_imdb(
    split: str = "train", data_dir: str | os.PathLike | None = None, limit: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Loads IMDB reviews and their sentiment labels.

    With a data directory (the argument, or `COURSE_DATA_DIR`), reads
    `<dir>/imdb/<split>.jsonl.gz` (or `<dir>/<split>.jsonl.gz`). Otherwise
    loads tensorflow-datasets' `imdb_reviews` (25,000 reviews per split),
    failing fast when offline.

    Args:
        split: `"train"` or `"test"`.
        data_dir: Local data directory, or `None`.
        limit: Keep only the first `limit` reviews; `None` for all.

    Returns:
        `(texts, labels)`: a list of N review strings and an int64 array of
        shape `(N,)` with 0 = negative, 1 = positive.

    Raises:
        ValueError: For an unknown split or a negative limit.
        FileNotFoundError: If the data directory holds no file for the split.
        DataUnavailableError: If the data must be downloaded and cannot be.
    """
    split = _check_split(split)
    limit = _check_limit(limit)
    layout = f"imdb/{split}.jsonl.gz"
    base = paths.resolve_data_dir(data_dir)
    if base is not None:
        candidates = [layout, f"{split}.jsonl.gz", f"imdb/{split}.jsonl", f"{split}.jsonl"]
        return read_imdb_jsonl(paths.find_file(base, candidates, f"IMDB {split!r}"), limit=limit)
    if not paths.network_available(TFDS_HOST):
        raise paths.DataUnavailableError("IMDB", f"no network connection to {TFDS_HOST}", layout)
    import tensorflow_datasets as tfds

    tfds_split = split if limit is None else f"{split}[:{limit}]"
    try:
        ds = tfds.load("imdb_reviews", split=tfds_split, as_supervised=True)
    except Exception as exc:  # tfds raises many kinds of download errors
        raise paths.DataUnavailableError("IMDB", f"tensorflow-datasets failed ({exc})", layout) from exc
    texts, labels = [], []
    for text, label in tfds.as_numpy(ds):
        texts.append(text.decode("utf-8"))
        labels.append(int(label))
    return texts, np.asarray(labels, dtype=np.int64)


def imdb_dataset(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
) -> "tf.data.Dataset":
    """Makes a batched dataset of raw review strings and labels.

    Vectorise the strings inside the model (e.g. with
    `keras.layers.TextVectorization`) or with `Dataset.map`.

    Args:
        texts: N review strings.
        labels: N int labels.
        batch_size: Reviews per batch.
        shuffle: Whether to shuffle (reshuffled every epoch).
        seed: Seed of the shuffle.

    Returns:
        A `tf.data.Dataset` of `(texts, labels)`: a string tensor of shape
        `(B,)` and an int64 tensor of shape `(B,)`.
    """
    import tensorflow as tf

    check_batch_size(batch_size)
    if isinstance(texts, str):
        raise TypeError("`texts` must be a sequence of strings, not a single str.")
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"`labels` must be a 1-D sequence of ints; got dtype {labels.dtype} with shape {labels.shape}.")
    if len(texts) != len(labels):
        raise ValueError(f"`texts` and `labels` must have the same length; got {len(texts)} and {len(labels)}.")
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts), dtype=tf.string), labels.astype(np.int64)))
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


SUBSET_PER_SPLIT = 5000


@contextlib.contextmanager
def _without_local_data_dir() -> Iterator[None]:
    """Hides `COURSE_DATA_DIR` for a moment, so `load_imdb` downloads."""
    saved = os.environ.pop(paths.DATA_DIR_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[paths.DATA_DIR_ENV] = saved


def _balanced_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of `size` items, half of each class, in their original order."""
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), size // 2 + (size % 2) * (c == 0), replace=False)
              for c in (0, 1)]
    return np.sort(np.concatenate(picked))


def load_reviews(
    split: str = "train",
    full: bool = False,
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
) -> tuple[list[str], np.ndarray]:
    """Loads the IMDB reviews of lesson A4.

    - `full=False` (the lesson's default): 5,000 reviews per split, half
      positive. With a local data directory (`data_dir` or `COURSE_DATA_DIR`)
      they are read from `<dir>/imdb/<split>.jsonl.gz`; otherwise the full set is
      downloaded with tensorflow-datasets and a balanced sample of 5,000 is
      drawn with `seed`.
    - `full=True`: the whole split, 25,000 reviews, always downloaded with
      tensorflow-datasets (a local directory is ignored), so it needs the
      network.

    Args:
        split: `"train"` or `"test"`.
        full: Whether to use the full 25,000-review split.
        limit: Keep only the first `limit` reviews (`None` for all). In the local
            subset labels alternate, so any even limit stays balanced.
        data_dir: Local data directory, or `None` for `COURSE_DATA_DIR`.
        seed: Seed of the balanced sample drawn from a download.

    Returns:
        `(texts, labels)`: N review strings and an int64 array `(N,)`,
        0 = negative, 1 = positive.

    Raises:
        ValueError: For an unknown split or a negative limit.
        DataUnavailableError: If the data must be downloaded and cannot be.
    """
    if full:
        with _without_local_data_dir():
            return load_imdb(split, data_dir=None, limit=limit)
    if paths.resolve_data_dir(data_dir) is not None:
        return load_imdb(split, data_dir=data_dir, limit=limit)
    texts, labels = load_imdb(split, data_dir=None)
    keep = _balanced_sample(labels, min(SUBSET_PER_SPLIT, len(labels)), seed)
    if limit is not None:
        keep = keep[: max(int(limit), 0)]
    return [texts[i] for i in keep], labels[keep]
