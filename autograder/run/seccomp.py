"""Seccomp: a hand-written BPF filter that keeps a process from starting others or escaping.

Raw syscalls through ctypes, so that no native package is needed. Nothing is
called at import time; the module imports on any platform.

The filter is installed with `SECCOMP_FILTER_FLAG_TSYNC`, so it applies to every
thread of the process, including those TensorFlow or BLAS started already.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
from dataclasses import dataclass

__all__ = ["SeccompReport", "install", "supported"]

_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_SECCOMP = 21
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1

_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

# Classic BPF opcodes.
_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06

# Offsets into struct seccomp_data (little-endian).
_NR = 0
_ARCH = 4


def _arg_lo(i: int) -> int:
    return 16 + 8 * i


def _arg_hi(i: int) -> int:
    return 16 + 8 * i + 4


_CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_AF_UNIX = 1
_X32_BIT = 0x40000000

# Numbers shared by both tables (the unified range, 424 and up).
_COMMON = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsmount": 432, "fspick": 433, "clone3": 435,
    "pidfd_getfd": 438, "mount_setattr": 442, "quotactl_fd": 443, "memfd_secret": 447, "open_tree_attr": 467,
}

_X86_64 = {
    "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    "socket": 41, "socketpair": 53, "connect": 42,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "setrlimit": 160, "prlimit64": 302, "setsid": 112, "setpgid": 109,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
    "request_key": 249, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168,
    "acct": 163, "personality": 135, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "quotactl": 179, "syslog": 103, "iopl": 172, "ioperm": 173,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "memfd_create": 319,
    **_COMMON,
}

_AARCH64 = {
    "clone": 220, "execve": 221, "execveat": 281,
    "socket": 198, "socketpair": 199, "connect": 203,
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
    "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
    "setrlimit": 164, "prlimit64": 261, "setsid": 157, "setpgid": 154,
    "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
    "request_key": 218, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
    "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225,
    "acct": 89, "personality": 92, "name_to_handle_at": 264, "open_by_handle_at": 265,
    "quotactl": 60, "syslog": 116,
    "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184,
    "mq_getsetattr": 185, "msgget": 186, "msgctl": 187, "msgrcv": 188, "msgsnd": 189, "semget": 190,
    "semctl": 191, "semtimedop": 192, "semop": 193, "shmget": 194, "shmctl": 195, "shmat": 196, "shmdt": 197,
    "memfd_create": 279,
    **_COMMON,
}

# machine -> (AUDIT_ARCH, syscall table, seccomp syscall number)
_ARCHES = {
    "x86_64": (0xC000003E, _X86_64, 317),
    "aarch64": (0xC00000B7, _AARCH64, 277),
}

# System V IPC and POSIX message queues: objects that outlive the job and that other jobs can open.
_IPC = ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd",
        "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr")
# Anonymous files: memory that RLIMIT_AS does not count (nothing we run creates one: strace of
# TensorFlow with XLA, Keras training, tf.data and matplotlib shows no memfd_create).
_MEMFD = ("memfd_create", "memfd_secret")

# Refused outright with EPERM (those missing on an architecture are skipped).
_DENY = (
    "fork", "vfork", "execve", "execveat", "connect",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount",
    "move_mount", "open_tree", "open_tree_attr", "fspick", "mount_setattr",
    "setrlimit", "setsid", "setpgid",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
    "personality", "name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd",
    "syslog", "iopl", "ioperm",
    *_IPC, *_MEMFD,
)
# Refused depending on their arguments, or with another answer.
_CONDITIONAL = ("clone", "clone3", "socket", "socketpair", "prlimit64")


@dataclass(frozen=True)
class SeccompReport:
    """What an `install` call enforces.

    Attributes:
        arch: The machine the filter was built for, e.g. "x86_64".
        denied: Names of the syscalls refused (some only for certain arguments:
            clone without CLONE_THREAD, sockets other than unix ones, prlimit64
            that sets a limit), System V IPC and memfd included.
        unix_sockets: Whether unix-domain sockets may still be created.
    """

    arch: str
    denied: tuple[str, ...]
    unix_sockets: bool = True

    def describe(self) -> str:
        """One line, e.g. "seccomp x86_64 (no processes, exec, sockets, ptrace, ...)"."""
        sockets = "network sockets" if self.unix_sockets else "sockets"
        return (f"seccomp {self.arch} (no processes, exec, {sockets}, ptrace, namespaces, raising limits, "
                "System V IPC, memfd)")


def _machine() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def supported() -> bool:
    """Whether `install` can work here: Linux, a known architecture, seccomp in the kernel."""
    if not sys.platform.startswith("linux") or _machine() not in _ARCHES:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) >= 0


class _Program:
    """A tiny assembler: instructions whose jump targets are labels."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.code.append((_LD_W_ABS, 0, 0, offset))

    def jump(self, op: int, k: int, true: object = 0, false: object = 0) -> None:
        """Jump to label `true`/`false` (or 0 = the next instruction)."""
        self.code.append((op, true, false, k))

    def ret(self, k: int, label: str | None = None) -> None:
        if label is not None:
            self.labels[label] = len(self.code)
        self.code.append((_RET, 0, 0, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        out = bytearray()
        for pc, (op, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                offset = target if isinstance(target, int) else self.labels[target] - pc - 1
                if not 0 <= offset <= 255:
                    raise ValueError(f"seccomp: jump out of range at {pc}")
                offsets.append(offset)
            out += op.to_bytes(2, "little") + bytes(offsets) + k.to_bytes(4, "little")
        return bytes(out)


def _build(audit_arch: int, table: dict[str, int], allow_unix_sockets: bool) -> tuple[bytes, tuple[str, ...]]:
    p = _Program()
    p.load(_ARCH)
    p.jump(_JEQ, audit_arch, 0, "kill")
    p.load(_NR)
    if audit_arch == _ARCHES["x86_64"][0]:
        p.jump(_JGE, _X32_BIT, "kill", 0)
    denied = [name for name in _DENY if name in table]
    for name in denied:
        p.jump(_JEQ, table[name], "eperm", 0)
    for name in _CONDITIONAL:
        p.jump(_JEQ, table[name], name, 0)
    p.ret(_RET_ALLOW)

    p.label("clone")  # threads only, and no new namespaces on the way
    p.load(_arg_lo(0))
    p.jump(_JSET, _CLONE_NAMESPACES, "eperm", 0)
    p.jump(_JSET, _CLONE_THREAD, "allow", "eperm")
    p.ret(_RET_ERRNO | errno.ENOSYS, "clone3")  # glibc falls back to clone
    p.label("socket")
    p.label("socketpair")
    if allow_unix_sockets:
        p.load(_arg_lo(0))
        p.jump(_JEQ, _AF_UNIX, "allow", "eacces")
    p.ret(_RET_ERRNO | errno.EACCES, "eacces")
    p.label("prlimit64")  # reading limits only: new_limit must be NULL
    p.load(_arg_lo(2))
    p.jump(_JEQ, 0, 0, "eperm")
    p.load(_arg_hi(2))
    p.jump(_JEQ, 0, "allow", "eperm")
    p.ret(_RET_ERRNO | errno.EPERM, "eperm")
    p.ret(_RET_ALLOW, "allow")
    p.ret(_RET_KILL_PROCESS, "kill")
    return p.assemble(), tuple(denied) + _CONDITIONAL


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(*, allow_unix_sockets: bool = True) -> SeccompReport:
    """Install the filter on every thread of this process; it cannot be removed.

    Sets `no_new_privs` first, as seccomp requires for unprivileged callers.
    Refused calls fail with `EPERM` (sockets with `EACCES`, clone3 with
    `ENOSYS` so that glibc creates threads with clone); a syscall from another
    ABI (i386, x32) kills the process.

    Args:
        allow_unix_sockets: Let `socket`/`socketpair` create unix-domain sockets.

    Returns:
        A `SeccompReport` listing the refused syscalls.

    Raises:
        OSError: Unsupported platform, or a step failed; the message names it.
    """
    machine = _machine()
    if not sys.platform.startswith("linux") or machine not in _ARCHES:
        raise OSError(errno.ENOSYS, f"seccomp: unsupported platform {sys.platform}/{machine}")
    audit_arch, table, nr_seccomp = _ARCHES[machine]
    code, denied = _build(audit_arch, table, allow_unix_sockets)

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ulong = ctypes.c_ulong
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
        code_ = ctypes.get_errno()
        raise OSError(code_, f"seccomp: prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(code_)}")
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    ctypes.set_errno(0)
    result = libc.syscall(
        ctypes.c_long(nr_seccomp),
        ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(prog),
    )
    if result != 0:
        if result > 0:
            raise OSError(errno.EAGAIN, f"seccomp: thread {result} could not be synchronised")
        code_ = ctypes.get_errno()
        raise OSError(code_, f"seccomp: seccomp(SET_MODE_FILTER, TSYNC) failed: {os.strerror(code_)}")
    return SeccompReport(arch=machine, denied=denied, unix_sockets=allow_unix_sockets)
