"""Writing report files into a folder that a hostile process may have tampered with.

The grader may run as root while student code (or anything else on the
machine) can plant symlinks in the output folder. `write_atomic` therefore
never follows a symlink below the output folder: each directory is opened
relative to its parent with `O_NOFOLLOW`, the data goes to a fresh temporary
file created with `O_EXCL | O_NOFOLLOW`, and a rename puts it in place. A
rename replaces a planted symlink itself instead of writing through it, and
readers see either the old file or the complete new one, never half of it.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from pathlib import Path, PurePath

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
FILE_MODE = 0o644
DIR_MODE = 0o755


class UnsafePathError(OSError):
    """A path component below the output folder is a symlink (or not a directory).

    Raised instead of following it; the message names the component.
    """


def supported() -> bool:
    """Whether this platform has the directory-relative calls `write_atomic` relies on."""
    return (
        bool(_NOFOLLOW)
        and hasattr(os, "O_DIRECTORY")
        # os.replace is not listed in supports_dir_fd; it takes dir fds wherever os.rename does (renameat)
        and {os.open, os.mkdir, os.rename, os.unlink, os.stat} <= os.supports_dir_fd
    )


def _parts(relative: str | PurePath) -> tuple[str, ...]:
    """The components of `relative`, refusing absolute paths and `..`."""
    rel = PurePath(relative)
    if rel.is_absolute() or rel.anchor or rel.drive:
        raise ValueError(f"expected a path relative to the output folder, got {str(relative)!r}")
    parts = tuple(p for p in rel.parts if p not in ("", "."))
    if not parts:
        raise ValueError(f"expected a file name, got {str(relative)!r}")
    if ".." in parts:
        raise ValueError(f"'..' is not allowed in a report path: {str(relative)!r}")
    return parts


def _open_child_dir(parent_fd: int, name: str, shown: str) -> int:
    """Opens (creating if needed) directory `name` under `parent_fd`, never through a symlink."""
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise
        try:
            mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        what = "a symlink" if stat.S_ISLNK(mode) else "not a directory"
        raise UnsafePathError(
            errno.ELOOP if stat.S_ISLNK(mode) else errno.ENOTDIR,
            f"refusing to write through {shown!r}: it is {what} (planted in the output folder?)",
        ) from None


def _data_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


FULL_DISK = {errno.ENOSPC, errno.EDQUOT}
FULL_DISK_WAIT_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Pauses before each new try when the disk is full: a job that filled it is stopped at its quota and its
scratch removed within seconds, so an honest neighbour's report waits rather than being lost."""


def write_patiently(root: Path, relative: str | PurePath, data: bytes | str,
                    waits: tuple[float, ...] = FULL_DISK_WAIT_S) -> Path:
    """`write_atomic`, tried again after each pause in `waits` while the disk is full (about 15 s in all).

    Raises:
        OSError: still full after the last pause, or any other failure at once.
    """
    for pause in waits:
        try:
            return write_atomic(root, relative, data)
        except OSError as exc:
            if exc.errno not in FULL_DISK:
                raise
        time.sleep(pause)
    return write_atomic(root, relative, data)


def write_atomic(root: Path, relative: str | PurePath, data: bytes | str) -> Path:
    """Writes `root/relative` atomically, never following a symlink below `root`.

    Args:
        root: the output folder, chosen by the instructor. It is created if
            missing (with its parents) and may itself be, or lie under, a
            symlink.
        relative: the file's path under `root`; missing directories are
            created. No `..` and no absolute paths.
        data: the content; `str` is written as UTF-8.

    Returns:
        `root / relative`.

    Raises:
        ValueError: `relative` is absolute, empty or contains `..`.
        UnsafePathError: a directory component below `root` is a symlink or
            not a directory; nothing is written.
        OSError: any other failure to write (the temporary file is removed).
    """
    parts = _parts(relative)
    root = Path(root)
    target = root.joinpath(*parts)
    payload = _data_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    if not supported():  # pragma: no cover - e.g. Windows: best effort, still atomic
        return _write_atomic_by_path(root, parts, payload)
    fd = os.open(root, _DIR_FLAGS)
    try:
        for i, part in enumerate(parts[:-1]):
            child = _open_child_dir(fd, part, str(PurePath(*parts[: i + 1])))
            os.close(fd)
            fd = child
        name = parts[-1]
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        file_fd = os.open(tmp, _FILE_FLAGS, FILE_MODE, dir_fd=fd)
        try:
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(file_fd, view):]
                os.fsync(file_fd)
            finally:
                os.close(file_fd)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise
        try:
            os.fsync(fd)  # make the rename itself durable
        except OSError:
            pass
    finally:
        os.close(fd)
    return target


def _write_atomic_by_path(root: Path, parts: tuple[str, ...], payload: bytes) -> Path:  # pragma: no cover
    """Fallback without directory-relative calls: refuses symlinked components by lstat (racy)."""
    target = root.joinpath(*parts)
    for i in range(1, len(parts)):
        component = root.joinpath(*parts[:i])
        if component.is_symlink():
            shown = str(PurePath(*parts[:i]))
            raise UnsafePathError(errno.ELOOP, f"refusing to write through {shown!r}: it is a symlink")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    file_fd = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(file_fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
