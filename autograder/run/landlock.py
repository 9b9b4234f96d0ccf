"""Landlock: confine the calling thread to a few file trees, with no TCP and no signals out.

Raw syscalls through ctypes, so that no native package is needed. Nothing is
called at import time; the module imports on any platform.

Landlock restricts the calling thread and the threads and processes it starts
afterwards: call `restrict` before any thread is started (or in a fresh child).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import sys
from dataclasses import dataclass
from typing import Iterable

__all__ = ["LandlockReport", "LandlockUnavailable", "abi_version", "restrict"]

# The same numbers on every architecture that has Landlock (x86_64, aarch64, ...).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446

_PR_SET_NO_NEW_PRIVS = 38
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# File-system access rights, by the ABI that introduced them.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class LandlockUnavailable(OSError):
    """The kernel (or the platform) offers no Landlock."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass(frozen=True)
class LandlockReport:
    """What a `restrict` call enforces.

    Attributes:
        abi: The kernel's Landlock ABI version.
        fs: File-system rules are enforced.
        net_tcp: TCP bind and connect are refused (ABI >= 4).
        scoped_signals: Signals to processes outside the domain are refused (ABI >= 6).
        scoped_abstract_unix: Abstract unix sockets outside the domain are
            unreachable (ABI >= 6).
    """

    abi: int
    fs: bool
    net_tcp: bool
    scoped_signals: bool
    scoped_abstract_unix: bool

    def describe(self) -> str:
        """One line, e.g. "landlock ABI 7 (files, tcp, signals, abstract unix sockets)"."""
        parts = [
            name
            for name, on in (
                ("files", self.fs),
                ("tcp", self.net_tcp),
                ("signals", self.scoped_signals),
                ("abstract unix sockets", self.scoped_abstract_unix),
            )
            if on
        ]
        return f"landlock ABI {self.abi} ({', '.join(parts) or 'nothing'})"


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return libc


def _syscall(libc: ctypes.CDLL, number: int, *args) -> int:
    ctypes.set_errno(0)
    return libc.syscall(ctypes.c_long(number), *args)


def _fail(step: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"landlock: {step} failed: {os.strerror(code)}")


def abi_version() -> int:
    """The kernel's Landlock ABI version, or 0 where Landlock is unavailable.

    Returns:
        An int: 0 on non-Linux platforms, on kernels built without Landlock
        (`ENOSYS`) and where it is disabled at boot (`EOPNOTSUPP`).
    """
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = _libc()
    except OSError:
        return 0
    version = _syscall(libc, _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _add_path(libc: ctypes.CDLL, ruleset_fd: int, path: str, dir_rights: int, file_rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        rule = _PathBeneathAttr(dir_rights if is_dir else file_rights, fd)
        if _syscall(libc, _SYS_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(_RULE_PATH_BENEATH),
                    ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise _fail(f"landlock_add_rule for {path!r}")
    finally:
        os.close(fd)


def restrict(
    read: Iterable[str], write: Iterable[str], *, deny_tcp: bool = True, scope: bool = True
) -> LandlockReport:
    """Confine the calling thread, and what it starts later, to the given trees.

    Sets `no_new_privs` first, as Landlock requires for unprivileged callers.
    Paths that do not exist are skipped; nested and repeated paths are fine.

    Args:
        read: Trees (or single files) that may be read and executed.
        write: Trees (or single files) with every right the kernel can handle.
        deny_tcp: Refuse TCP bind and connect (ABI >= 4).
        scope: Refuse signals and abstract unix sockets to anything outside the
            domain (ABI >= 6).

    Returns:
        A `LandlockReport` saying what is enforced.

    Raises:
        LandlockUnavailable: The kernel offers no Landlock.
        OSError: A step failed; the message names it.
    """
    abi = abi_version()
    if abi == 0:
        raise LandlockUnavailable(errno.ENOSYS, "landlock: not available on this kernel")
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")

    fs = _fs_rights(abi)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 and deny_tcp else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 and scope else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset_fd = _syscall(libc, _SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset_fd < 0:
        raise _fail("landlock_create_ruleset")
    try:
        read_rights = READ_FILE | READ_DIR | EXECUTE
        for path in read:
            _add_path(libc, ruleset_fd, os.fspath(path), read_rights, READ_FILE | EXECUTE)
        for path in write:
            _add_path(libc, ruleset_fd, os.fspath(path), fs, _FILE_RIGHTS & fs)
        if _syscall(libc, _SYS_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            raise _fail("landlock_restrict_self")
    finally:
        os.close(ruleset_fd)
    return LandlockReport(
        abi=abi,
        fs=True,
        net_tcp=bool(net),
        scoped_signals=bool(scoped & _SCOPE_SIGNAL),
        scoped_abstract_unix=bool(scoped & _SCOPE_ABSTRACT_UNIX_SOCKET),
    )
