"""Job uids when the grader is root: a block per sandbox, held with a lock for the sandbox's life.

Every job of a root grader runs under a uid of its own per template, and the
thread limit is per uid, so two sandboxes on one machine (two grading runs,
Dask workers, a test session) must not hand out the same uids. A sandbox
takes the first free block, holding an `flock` on the block's file; the
kernel drops the lock when the holder dies, so a crashed grader frees its
block. Past `MAX_BLOCKS` live sandboxes, uids are shared again. The locks
live in one machine-wide, root-only folder (`/run/lock`, never under
`TMPDIR`), so runs started with different temporary folders still see each
other's blocks.
"""

from __future__ import annotations

import fcntl
import os
import stat

from autograder.run.guard import JOB_UID_BASE

BLOCK = 64  # uids per sandbox: one per template
MAX_BLOCKS = 60
LOCK_PARENTS = ("/run/lock", "/var/lock", "/run", "/dev/shm")  # the first that exists is used, whatever TMPDIR says


def lock_folder() -> str | None:
    """A root-owned folder for the locks (None when something else was planted at that name)."""
    parent = next((p for p in LOCK_PARENTS if os.path.isdir(p)), None)
    if parent is None:
        return None
    folder = os.path.join(parent, "autograder-uid-blocks")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None  # planted by someone else: do not follow
    return folder


def claim_block() -> tuple[int | None, int]:
    """`(lock fd or None, first uid)` of a block no other live sandbox here holds."""
    folder = lock_folder()
    if folder is None:
        return None, JOB_UID_BASE + 1
    for block in range(1, MAX_BLOCKS + 1):
        path = os.path.join(folder, f"{block}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return fd, JOB_UID_BASE + 1 + BLOCK * block
    return None, JOB_UID_BASE + 1
