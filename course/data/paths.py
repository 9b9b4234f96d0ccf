"""Where the course's data lives, and a fast check for a network connection.

Every loader in `course.data` reads its data from a local directory when one
is given (the `data_dir=` argument, or the `COURSE_DATA_DIR` environment
variable) and otherwise downloads it. Offline, a download fails at once with a
`DataUnavailableError` instead of hanging in a retry loop.
"""

from __future__ import annotations

import os
import pathlib
import socket
import threading
import time

DATA_DIR_ENV = "COURSE_DATA_DIR"
"""Environment variable naming a local data directory (see `resolve_data_dir`)."""

CACHE_DIR_ENV = "COURSE_CACHE_DIR"
"""Environment variable overriding the download cache (default `~/.cache/course`)."""

_NETWORK_CACHE_SECONDS = 60.0
_network_cache: dict[tuple[str, int], tuple[float, bool]] = {}
_network_lock = threading.Lock()


class DataUnavailableError(RuntimeError):
    """The data could not be downloaded and no local copy was given.

    Args:
        dataset: Name of the data set, e.g. `"imdb"`.
        reason: Why the download failed (shown in the message).
        layout: Where a local copy is looked for, relative to the data
            directory, e.g. `"imdb/train.jsonl.gz"`.
    """

    def __init__(self, dataset: str, reason: str = "no network connection", layout: str = ""):
        self.dataset = dataset
        self.reason = reason
        self.layout = layout
        where = f" (expected at <data_dir>/{layout})" if layout else ""
        super().__init__(
            f"The {dataset} data could not be downloaded: {reason}. "
            f"Pass `data_dir=` pointing to a local copy{where}, or set the "
            f"{DATA_DIR_ENV} environment variable to that directory."
        )


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> pathlib.Path | None:
    """Returns the local data directory to read from, if any.

    The argument wins; otherwise the `COURSE_DATA_DIR` environment variable is
    used; otherwise there is no local directory and loaders download.

    Args:
        data_dir: A directory given by the caller, or `None`.

    Returns:
        The directory as a `pathlib.Path` (with `~` expanded), or `None`.

    Raises:
        TypeError: If `data_dir` is not a string, a path or `None`.
        NotADirectoryError: If the chosen directory does not exist.
    """
    if data_dir is None:
        env = os.environ.get(DATA_DIR_ENV, "").strip()
        if not env:
            return None
        data_dir, source = env, f"the {DATA_DIR_ENV} environment variable"
    elif isinstance(data_dir, (str, os.PathLike)):
        source = "`data_dir`"
    else:
        raise TypeError(
            f"`data_dir` must be a str, an os.PathLike or None; got {type(data_dir).__name__}: {data_dir!r}."
        )
    path = pathlib.Path(data_dir).expanduser()
    if not path.is_dir():
        raise NotADirectoryError(f"{source} names {str(path)!r}, which is not an existing directory.")
    return path


def data_source(data_dir: str | os.PathLike | None = None) -> str:
    """Where the loaders take their data from, in words: a local copy, or a download (cached after the first)."""
    local = resolve_data_dir(data_dir)
    if local is not None:
        return f"a local copy in {local}"
    return "downloaded on first use (then read from the download caches)"


def cache_dir() -> pathlib.Path:
    """Returns the download cache directory (`~/.cache/course` unless
    `COURSE_CACHE_DIR` is set). The directory is not created here."""
    env = os.environ.get(CACHE_DIR_ENV, "").strip()
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "course"


def network_available(host: str = "storage.googleapis.com", timeout: float = 2.0, port: int = 443) -> bool:
    """Checks quickly whether `host` can be reached over TCP.

    The answer is cached for a minute per `(host, port)`, so loaders can call
    this freely.

    Args:
        host: Host name to connect to.
        timeout: Seconds to wait for name resolution and the connection.
        port: TCP port to connect to.

    Returns:
        `True` if a connection could be opened, `False` otherwise.
    """
    key = (host, int(port))
    now = time.monotonic()
    with _network_lock:
        hit = _network_cache.get(key)
        if hit is not None and now - hit[0] < _NETWORK_CACHE_SECONDS:
            return hit[1]
    try:
        with socket.create_connection(key, timeout=timeout):
            ok = True
    except OSError:  # DNS failure, refused, unreachable or timed out
        ok = False
    with _network_lock:
        _network_cache[key] = (time.monotonic(), ok)
    return ok


def clear_network_cache() -> None:
    """Forgets the cached answers of `network_available`."""
    with _network_lock:
        _network_cache.clear()


def find_file(base: pathlib.Path, candidates: list[str], what: str) -> pathlib.Path:
    """Returns the first of `base / c` for `c` in `candidates` that exists.

    Raises:
        FileNotFoundError: Listing every path tried.
    """
    tried = [base / c for c in candidates]
    for path in tried:
        if path.is_file():
            return path
    listing = "\n  ".join(str(p) for p in tried)
    raise FileNotFoundError(f"No {what} file found in the data directory {str(base)!r}. Tried:\n  {listing}")
