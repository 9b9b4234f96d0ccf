"""The job's scratch folder: a bounded walk of its size, and a removal that never raises or hangs.

Runs in the supervisor (the quota, and removing one job's folder) and in the
grading process (removing the sandbox's folders when it closes). Whatever a
job left - a tree millions of entries wide or deeper than any path can name,
folders it made unreadable - costs at most a stated time and a fixed number
of file descriptors: removal works with two open directories at a time,
pulling the entries of each subfolder up into the top folder before removing
it, so depth never grows a stack. A folder that cannot be removed in time is
renamed `*.leftover` where it lies, logged, and removed by a later `sweep`.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import time
from dataclasses import dataclass

log = logging.getLogger("autograder.run")

REMOVE_BUDGET_S = 2.0  # one job's folder, in the supervisor (the slot waits for it)
CLOSE_BUDGET_S = 60.0  # a whole sandbox's folders, once, in the grading process
LEFTOVER = ".leftover"
SANDBOX_PREFIX = "ag-run-"


@dataclass(frozen=True)
class Usage:
    """What a bounded walk of a folder found.

    Attributes:
        bytes: allocated bytes of what was seen (st_blocks * 512).
        entries: files and folders seen.
        complete: the walk saw everything (it stopped at no bound).
    """

    bytes: int
    entries: int
    complete: bool


def usage(path: str, max_entries: int, max_depth: int = 64) -> Usage:
    """Allocated size of `path`'s tree, walking at most `max_entries` entries and `max_depth` levels."""
    total, entries, complete = 0, 0, True
    stack: list[tuple[str, int]] = [(path, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    entries += 1
                    if entries > max_entries:
                        return Usage(total, entries, False)
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        if depth + 1 >= max_depth:
                            complete = False
                        else:
                            stack.append((entry.path, depth + 1))
        except OSError:
            continue
    return Usage(total, entries, complete)


def remove(path: str, budget_s: float = REMOVE_BUDGET_S) -> bool:
    """Removes `path` (a folder or file) within `budget_s`; never raises.

    Returns:
        True when it is gone. Otherwise it is renamed `<path>.leftover` (when
        it can be), logged, and left for `sweep`.
    """
    deadline = time.monotonic() + budget_s
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("scratch: could not look at %r (%s); left for a later sweep", path, exc)
        return False
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return True
        if _empty_folder(path, deadline):
            os.rmdir(path)
            return True
    except Exception as exc:  # noqa: BLE001 - whatever a job left, the run goes on
        why = f"{type(exc).__name__}: {exc}"
    else:
        why = f"not emptied within {budget_s:g} s"
    left = path if path.endswith(LEFTOVER) else path + LEFTOVER
    try:
        if left != path:
            os.rename(path, left)
    except OSError:
        left = path
    log.warning("scratch: could not remove %r (%s); left for a later sweep as %r", path, why, left)
    return False


def _empty_folder(path: str, deadline: float) -> bool:
    """Empties `path` with two open folders at a time; False when the deadline came first."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        top = os.open(path, flags)
    except PermissionError:  # locked by its owner (the caller checked that it is a folder, not a link)
        os.chmod(path, 0o700)
        top = os.open(path, flags)
    try:
        os.fchmod(top, 0o700)  # entries are renamed out of it and removed: it must be writable
    except OSError:
        pass
    counter = 0
    try:
        while True:
            names = os.listdir(top)
            if not names:
                return True
            for name in names:
                if time.monotonic() > deadline:
                    return False
                counter += 1
                try:
                    os.unlink(name, dir_fd=top)
                    continue
                except FileNotFoundError:
                    continue
                except (IsADirectoryError, PermissionError):
                    pass
                except OSError:
                    if not _is_dir(top, name):
                        raise
                try:
                    os.rmdir(name, dir_fd=top)
                    continue
                except OSError:
                    pass
                counter = _pull_up(top, name, counter, deadline)
    finally:
        os.close(top)


def _pull_up(top: int, name: str, counter: int, deadline: float) -> int:
    """Moves the entries of `top/name` into `top` under fresh names, then removes `top/name`."""
    try:
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=top)
    except PermissionError:  # the job took its own folder's permissions away: give them back
        if not _is_dir(top, name):
            raise
        os.chmod(name, 0o700, dir_fd=top)
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=top)
    try:
        os.fchmod(sub, 0o700)
        for child in os.listdir(sub):
            if time.monotonic() > deadline:
                return counter
            counter += 1
            try:
                os.rename(child, f".rm-{counter}", src_dir_fd=sub, dst_dir_fd=top)
            except PermissionError:  # moving a folder rewrites its "..": it must be writable
                if not _is_dir(sub, child):
                    raise
                os.chmod(child, 0o700, dir_fd=sub)
                os.rename(child, f".rm-{counter}", src_dir_fd=sub, dst_dir_fd=top)
    finally:
        os.close(sub)
    os.rmdir(name, dir_fd=top)
    return counter


def _is_dir(top: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=top, follow_symlinks=False).st_mode)
    except OSError:
        return False


def sandbox_prefix() -> str:
    """The name a sandbox's scratch folder starts with: it names the process that owns it."""
    return f"{SANDBOX_PREFIX}{os.getpid()}-"


def _abandoned(name: str) -> bool:
    """A sandbox folder left in time (`*.leftover`) or whose owning process is gone (killed before it closed)."""
    if name.endswith(LEFTOVER):
        return True
    owner = name[len(SANDBOX_PREFIX):].split("-", 1)[0]
    return owner.isdigit() and not os.path.exists(f"/proc/{owner}")


def sweep(root: str | None = None, budget_s: float = CLOSE_BUDGET_S) -> list[str]:
    """Removes what earlier sandboxes of this user left under `root`; returns what remains."""
    root = root or tempfile.gettempdir()
    deadline = time.monotonic() + budget_s
    left: list[str] = []
    try:
        names = os.listdir(root)
    except OSError:
        return left
    for name in names:
        if not (name.startswith(SANDBOX_PREFIX) and _abandoned(name)):
            continue
        path = os.path.join(root, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if info.st_uid != os.geteuid() or not stat.S_ISDIR(info.st_mode):
            continue  # not ours: never touched
        if not remove(path, max(0.0, deadline - time.monotonic())):
            left.append(path)
    return left
