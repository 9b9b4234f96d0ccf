"""The job's own mount and IPC namespaces (root graders): a size-capped scratch, and Python without a capability.

Runs in the job's child, as root, before `guard.apply` drops to the job's uid.
`enter` unshares a mount and a System V IPC namespace, so that every mount
made here and every IPC object the job could make dies with the job's
process; mounts a tmpfs of fixed size and inode count on the scratch folder
(its memory is charged to the job's cgroup, and nothing in it outlives the
job); and, where the Python installation lies under a folder other users
cannot enter (a 0700 `/root`), mounts a small read-only tmpfs over that
folder holding read-only bind mounts of exactly the trees the job may read,
so that the job reads them with no capability at all.
"""

from __future__ import annotations

import ctypes
import os
import stat
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


@dataclass(frozen=True)
class Scratch:
    """The per-job tmpfs: its size in MB and how many files and folders it holds at most."""

    size_mb: int
    inodes: int


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc().mount(enc(source), target.encode(), enc(fstype), flags, enc(data)), f"mount {target}")


def enter(scratch: str, quota: Scratch, uid: int | None, expose: tuple[str, ...] = ()) -> None:
    """Gives the calling process (the job's child, still root) its own namespaces and scratch.

    Args:
        scratch: the job's scratch folder; a fresh tmpfs is mounted on it.
        quota: the tmpfs's size and inode count.
        uid: owner of the tmpfs's root (the job's uid).
        expose: trees under folders other users cannot enter, to bind read-only
            (see `blocked`); empty when everything is readable already.

    Raises:
        OSError: a step failed (the job must not run with less than was promised).
    """
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare(mount, IPC)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the grader's namespace
    if expose:
        _bind_readable(expose, scratch)
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    _mount("ag-scratch", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={int(quota.size_mb)}m,nr_inodes={int(quota.inodes)},mode=0700{owner}")


def blocked(trees: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Folders other users cannot enter -> the trees under each that the job must read."""
    out: dict[str, list[str]] = {}
    for tree in trees:
        tree = os.path.realpath(tree)
        parts = tree.split(os.sep)
        for i in range(2, len(parts)):
            ancestor = os.sep.join(parts[:i])
            try:
                mode = os.stat(ancestor).st_mode
            except OSError:
                break
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                out.setdefault(ancestor, []).append(tree)
                break
    return out


def _outermost(trees: list[str]) -> list[str]:
    out: list[str] = []
    for tree in sorted(set(trees)):
        if not any(tree == o or tree.startswith(o.rstrip(os.sep) + os.sep) for o in out):
            out.append(tree)
    return out


def _bind_readable(trees: tuple[str, ...], scratch: str) -> None:
    """Covers each blocked folder with a tmpfs that holds only read-only binds of its trees
    (and a writable bind of the scratch folder, when it lies there too)."""
    scratch = os.path.realpath(scratch)
    for folder, inside in blocked([*trees, scratch]).items():
        fds = {tree: os.open(tree, os.O_PATH | os.O_CLOEXEC) for tree in _outermost(inside) if os.path.exists(tree)}
        try:
            _mount("ag-expose", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
            for tree, fd in fds.items():
                if os.path.isdir(f"/proc/self/fd/{fd}"):
                    os.makedirs(tree, 0o755, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(tree), 0o755, exist_ok=True)
                    open(tree, "a").close()
                for part in _parents_between(folder, tree):
                    os.chmod(part, 0o755)
                _mount(f"/proc/self/fd/{fd}", tree, None, MS_BIND | MS_REC)
                read_only = MS_RDONLY if tree != scratch else 0
                _mount(None, tree, None, MS_REMOUNT | MS_BIND | read_only | MS_NOSUID | MS_NODEV)
            _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        finally:
            for fd in fds.values():
                os.close(fd)


def _parents_between(folder: str, tree: str) -> list[str]:
    rel = os.path.relpath(tree, folder).split(os.sep)
    return [os.path.join(folder, *rel[:i]) for i in range(1, len(rel))]


def supported(probe_dir: str) -> str:
    """"" when a child can make these namespaces and mount a tmpfs here, else why not (runs in a throwaway fork)."""
    if os.geteuid() != 0:
        return "the grader is not root"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            enter(probe_dir, Scratch(1, 16), None)
        except BaseException as exc:  # noqa: BLE001
            os.write(w, str(exc).encode()[:500])
            code = 1
        os._exit(code)
    os.close(w)
    why = b""
    while chunk := os.read(r, 4096):
        why += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return why.decode(errors="replace")
