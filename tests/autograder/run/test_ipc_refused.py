"""Seccomp refuses System V IPC, POSIX message queues and memfds, while TensorFlow still runs.

Each body runs in a forked child (never in pytest); the honest half checks
that the same calls work before the filter, so the refusal is the filter's.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

import pytest

import forked
from autograder.run import seccomp

pytestmark = pytest.mark.skipif(not seccomp.supported(), reason="seccomp filters need Linux on x86_64 or aarch64")

MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
# Written out independently of the module's tables, to check them.
NUMBERS = {
    "x86_64": {"shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240, "memfd_create": 319, "shmat": 30},
    "aarch64": {"shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180, "memfd_create": 279, "shmat": 196},
}
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0


def _errno_of(name: str, *args: int) -> int:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.syscall.restype = ctypes.c_long
    ctypes.set_errno(0)
    result = lib.syscall(ctypes.c_long(NUMBERS[MACHINE][name]), *(ctypes.c_long(a) for a in args))
    if result >= 0 and name in ("shmget", "semget", "msgget"):  # created: remove it again at once
        remove = {"shmget": (31, 195), "semget": (66, 191), "msgget": (71, 187)}[name][MACHINE == "aarch64"]
        lib.syscall(ctypes.c_long(remove), ctypes.c_long(result), ctypes.c_long(IPC_RMID), ctypes.c_long(0))
    elif result >= 0 and name in ("memfd_create", "mq_open"):
        os.close(result)
    return ctypes.get_errno() if result < 0 else 0


def _calls() -> dict[str, int]:
    name = ctypes.create_string_buffer(b"ag-test")
    return {
        "shmget": _errno_of("shmget", IPC_PRIVATE, 1 << 20, IPC_CREAT | 0o600),
        "semget": _errno_of("semget", IPC_PRIVATE, 1, IPC_CREAT | 0o600),
        "msgget": _errno_of("msgget", IPC_PRIVATE, IPC_CREAT | 0o600),
        "memfd_create": _errno_of("memfd_create", ctypes.addressof(name), 0),
        "shmat": _errno_of("shmat", 0, 0, 0),
    }


def test_ipc_and_memfd_are_refused_after_the_filter_and_work_before():
    before = forked.run(_calls)
    assert before[0] == "ok", before
    assert before[1]["memfd_create"] == 0 and before[1]["msgget"] == 0, before  # the machine offers them

    def body() -> dict[str, int]:
        seccomp.install()
        return _calls()

    kind, after = forked.run(body)
    assert kind == "ok", after
    assert after == {name: errno.EPERM for name in after}, after


def test_python_level_memfd_and_shared_memory_are_refused():
    def body() -> dict[str, str]:
        seccomp.install()
        return {"os.memfd_create": forked.attempt(lambda: os.memfd_create("x")),
                "sysv": forked.attempt(lambda: _raise_if(_errno_of("shmget", 0, 4096, IPC_CREAT | 0o600)))}

    kind, got = forked.run(body)
    assert kind == "ok", got
    assert got == {"os.memfd_create": "PermissionError", "sysv": "PermissionError"}, got


def _raise_if(code: int) -> None:
    if code:
        raise OSError(code, os.strerror(code))


def test_tensorflow_runs_under_the_filter():
    def body() -> float:
        import tensorflow as tf

        seccomp.install()

        @tf.function(jit_compile=True)
        def f(a):
            return tf.matmul(a, a) + 1.0

        return float(tf.reduce_sum(f(tf.ones((8, 8)))))

    kind, value = forked.run(body, timeout=120)
    assert (kind, value) == ("ok", 8 * 8 * 9.0), value
