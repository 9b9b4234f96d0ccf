"""Plain-text corpora (The Time Machine, tiny Shakespeare) and language-model
windows over them."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from course.validation import positive_int
from course.data import paths
from course.data.pipelines import check_batch_size

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

T = TypeVar("T", str, list, np.ndarray)

TEXT_SOURCES: dict[str, tuple[str, str]] = {
    "timemachine": (
        "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
        "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
    ),
    "tinyshakespeare": (
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
}
"""Text name -> (download URL, SHA-256 of the file)."""

DOWNLOAD_TIMEOUT = 10.0
"""Seconds `load_text` waits on a download's connection before giving up."""


def load_text(name: str = "timemachine", data_dir: str | os.PathLike | None = None) -> str:
    """Loads a whole text corpus as one string.

    With a data directory (the argument, or `COURSE_DATA_DIR`), reads
    `<dir>/text/<name>.txt` (or `<dir>/<name>.txt`). Otherwise uses the copy in
    `~/.cache/course/`, downloading it first if needed.

    Args:
        name: `"timemachine"` (H. G. Wells, 178,979 chars) or
            `"tinyshakespeare"` (1,115,394 chars).
        data_dir: Local data directory, or `None`.

    Returns:
        The text.

    Raises:
        ValueError: For an unknown `name`.
        FileNotFoundError: If a data directory is given but holds no such file.
        DataUnavailableError: If the text must be downloaded and cannot be.
    """
    if name not in TEXT_SOURCES:
        raise ValueError(f"Unknown text {name!r}; expected one of {sorted(TEXT_SOURCES)}.")
    base = paths.resolve_data_dir(data_dir)
    if base is not None:
        path = paths.find_file(base, [f"text/{name}.txt", f"{name}.txt"], f"{name!r} text")
        return path.read_text(encoding="utf-8")
    return _download(name).decode("utf-8")


def _download(name: str) -> bytes:
    """Returns the bytes of text `name` from the cache, downloading if needed."""
    url, sha256 = TEXT_SOURCES[name]
    target = paths.cache_dir() / f"{name}.txt"
    if target.is_file():
        data = target.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    host = urllib.parse.urlparse(url)
    port = host.port or (443 if host.scheme == "https" else 80)
    layout = f"text/{name}.txt"
    if not paths.network_available(host.hostname or "", port=port):
        raise paths.DataUnavailableError(name, f"no network connection to {host.hostname}", layout)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise paths.DataUnavailableError(name, f"downloading {url} failed ({exc})", layout) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise paths.DataUnavailableError(name, f"{url} returned a file with SHA-256 {digest}, expected {sha256}",
                                         layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return data


def split_text(text: T, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> tuple[T, T, T]:
    """Splits a text (or token/id sequence) into contiguous train/valid/test parts.

    Args:
        text: A str, list or 1-D numpy array.
        fractions: Three non-negative fractions summing to 1.

    Returns:
        `(train, valid, test)`, slices of `text` in order; joined they give
        back `text`.
    """
    if isinstance(fractions, (str, bytes)) or len(fractions) != 3:
        raise ValueError(f"`fractions` must be three numbers (train, valid, test); got {fractions!r}.")
    f = [float(x) for x in fractions]
    if min(f) < 0 or abs(sum(f) - 1.0) > 1e-6:
        raise ValueError(f"`fractions` must be non-negative and sum to 1; got {tuple(fractions)!r} (sum {sum(f):g}).")
    n = len(text)
    a = int(round(n * f[0]))
    b = min(n, a + int(round(n * f[1])))
    return text[:a], text[a:b], text[b:]


def lm_windows(
    ids: Sequence[int] | np.ndarray,
    seq_len: int,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> "tf.data.Dataset":
    """Cuts an id sequence into non-overlapping language-model windows.

    Window `k` has inputs `ids[k*L : k*L+L]` and targets shifted by one,
    `ids[k*L+1 : k*L+L+1]`, where `L = seq_len`.

    Args:
        ids: The whole corpus as token ids.
        seq_len: Time steps per window.
        batch_size: Windows per batch.
        shuffle: Whether to shuffle the windows (reshuffled every epoch).
        seed: Seed of the shuffle.
        drop_remainder: Whether to drop a last, smaller batch.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`, both int32 of shape
        `(batch_size, seq_len)`.
    """
    import tensorflow as tf

    positive_int(seq_len, "seq_len")
    check_batch_size(batch_size)
    if isinstance(ids, str):
        raise TypeError("`ids` must be token ids, not a str; encode the text with a Vocabulary first.")
    arr = np.asarray(ids)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`ids` must be a 1-D sequence of ints; got dtype {arr.dtype} with shape {arr.shape}.")
    n = (len(arr) - 1) // seq_len
    if n < 1:
        raise ValueError(f"`ids` has {len(arr)} tokens; at least seq_len + 1 = {seq_len + 1} are needed.")
    inputs = arr[: n * seq_len].reshape(n, seq_len).astype(np.int32)  # (N, L)
    targets = arr[1 : n * seq_len + 1].reshape(n, seq_len).astype(np.int32)  # (N, L)
    ds = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
