"""Seccomp filter: installed in forked children (or a fresh interpreter), never in pytest itself."""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import forked
from autograder.run import landlock, seccomp

pytestmark = pytest.mark.skipif(not seccomp.supported(), reason="seccomp filters need Linux on x86_64 or aarch64")

MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())

# Written out independently of the module's tables, to check them.
NUMBERS = {
    "x86_64": {"getpid": 39, "clone3": 435, "setrlimit": 160, "ptrace": 101, "process_vm_readv": 310,
               "kcmp": 312, "pidfd_getfd": 438, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
               "keyctl": 250, "io_uring_setup": 425, "personality": 135, "setns": 308, "umount2": 166,
               "open_tree": 428, "fsopen": 430, "init_module": 175, "iopl": 172},
    "aarch64": {"getpid": 172, "clone3": 435, "setrlimit": 164, "ptrace": 117, "process_vm_readv": 270,
                "kcmp": 272, "pidfd_getfd": 438, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                "keyctl": 219, "io_uring_setup": 425, "personality": 92, "setns": 268, "umount2": 39,
                "open_tree": 428, "fsopen": 430, "init_module": 105},
}


run_in_child = forked.run



def in_child(body: Callable[[], Any]) -> Any:
    kind, value = run_in_child(body)
    if kind != "ok":
        pytest.fail(f"child ended with {kind}:\n{value}")
    return value


attempt = forked.attempt


def libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.syscall.restype = ctypes.c_long
    return lib


def raw(number: int, *args: int) -> int:
    """errno of a raw syscall (0 when it succeeded)."""
    ctypes.set_errno(0)
    result = libc().syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
    return ctypes.get_errno() if result == -1 else 0


def test_report_and_describe():
    report = in_child(seccomp.install)
    assert report.arch == MACHINE
    for name in ("fork", "clone", "clone3", "execve", "socket", "connect", "ptrace", "unshare", "mount",
                 "setrlimit", "prlimit64", "setsid", "bpf", "io_uring_setup", "pidfd_getfd"):
        if name != "fork" or MACHINE == "x86_64":
            assert name in report.denied
    assert len(set(report.denied)) == len(report.denied)
    assert report.describe() == (
        f"seccomp {MACHINE} (no processes, exec, network sockets, ptrace, namespaces, raising limits, "
        "System V IPC, memfd)"
    )
    strict = in_child(lambda: seccomp.install(allow_unix_sockets=False))
    assert "(no processes, exec, sockets," in strict.describe() and not strict.unix_sockets


def test_no_new_processes_or_exec():
    def body():
        lib = libc()
        seccomp.install()

        def fork():
            if os.fork() == 0:
                os._exit(0)

        def libc_fork():
            pid = lib.fork()
            if pid == 0:
                os._exit(0)
            if pid < 0:
                raise OSError(ctypes.get_errno(), "fork")

        return {
            "no_new_privs": lib.prctl(39, 0, 0, 0, 0),  # PR_GET_NO_NEW_PRIVS
            "os.fork": attempt(fork),
            "libc fork": attempt(libc_fork),
            "Popen": attempt(lambda: subprocess.Popen(["/bin/true"]).wait()),
            "posix_spawn": attempt(lambda: os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0)),
            "execv": attempt(lambda: os.execv("/bin/true", ["true"])),
            "clone3": raw(NUMBERS[MACHINE]["clone3"], 0, 0),
        }

    assert in_child(body) == {
        "no_new_privs": 1,
        "os.fork": "PermissionError",
        "libc fork": "PermissionError",
        "Popen": "PermissionError",
        "posix_spawn": "PermissionError",
        "execv": "PermissionError",
        "clone3": errno.ENOSYS,
    }


def test_threads_still_start():
    def body():
        seccomp.install()
        out = []
        worker = threading.Thread(target=lambda: out.append(sum(range(1000))))
        worker.start()
        worker.join()
        a = np.arange(400 * 400, dtype=np.float64).reshape(400, 400) / 1e5
        return out, float((a @ a.T).trace()), float(np.einsum("ij,ij->", a, a))

    out, trace, expected = in_child(body)
    assert out == [499500]
    assert trace == pytest.approx(expected)


def test_filter_covers_threads_started_before():
    def body():
        go, done = threading.Event(), threading.Event()
        seen = {}

        def waiter():
            go.wait()
            seen["thread fork"] = attempt(lambda: os.fork() == 0 and os._exit(0))
            done.set()

        threading.Thread(target=waiter).start()
        seccomp.install()
        tasks = Path("/proc/self/task")
        modes = {tid.name: (tid / "status").read_text().split("Seccomp:")[1].split()[0] for tid in tasks.iterdir()}
        go.set()
        done.wait(10)
        return len(modes), set(modes.values()), seen

    threads, modes, seen = in_child(body)
    assert threads == 2 and modes == {"2"}
    assert seen == {"thread fork": "PermissionError"}


def test_sockets(tmp_path):
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()

        def body():
            seccomp.install()
            left, right = socket.socketpair()
            left.sendall(b"hi")
            got = right.recv(2)

            def connect_unix():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(path)

            return {
                "socketpair": got,
                "unix socket": attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()),
                "inet": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()),
                "inet udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()),
                "inet6": attempt(lambda: socket.socket(socket.AF_INET6).close()),
                "netlink": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()),
                "connect unix": attempt(connect_unix),
            }

        assert in_child(body) == {
            "socketpair": b"hi",
            "unix socket": "ok",
            "inet": "PermissionError",
            "inet udp": "PermissionError",
            "inet6": "PermissionError",
            "netlink": "PermissionError",
            "connect unix": "PermissionError",
        }


def test_no_unix_sockets_when_asked():
    def body():
        seccomp.install(allow_unix_sockets=False)
        return attempt(socket.socketpair), attempt(lambda: socket.socket(socket.AF_UNIX).close())

    assert in_child(body) == ("PermissionError", "PermissionError")


def test_sessions_and_limits():
    nofile = resource.RLIMIT_NOFILE

    def body():
        soft, hard = resource.getrlimit(nofile)
        resource.setrlimit(nofile, (soft - 1, hard))  # allowed before the filter
        seccomp.install()
        return {
            "setsid": attempt(os.setsid),
            "setpgid": attempt(lambda: os.setpgid(0, 0)),
            "getrlimit": resource.getrlimit(nofile) == (soft - 1, hard),
            "prlimit read": resource.prlimit(0, nofile) == (soft - 1, hard),
            "raise": attempt(lambda: resource.setrlimit(nofile, (soft, hard))),
            "lower": attempt(lambda: resource.setrlimit(nofile, (soft - 2, hard))),
            "prlimit write": attempt(lambda: resource.prlimit(0, nofile, (soft, hard))),
            "raw setrlimit": raw(NUMBERS[MACHINE]["setrlimit"], nofile, 0),
            "unchanged": resource.getrlimit(nofile) == (soft - 1, hard),
        }

    seen = in_child(body)
    # CPython reports EPERM from setrlimit as ValueError("not allowed to raise maximum limit").
    assert seen.pop("raise") in ("ValueError", "PermissionError")
    assert seen.pop("lower") in ("ValueError", "PermissionError")
    assert seen.pop("prlimit write") in ("ValueError", "PermissionError")
    assert seen == {"setsid": "PermissionError", "setpgid": "PermissionError", "getrlimit": True,
                    "prlimit read": True, "raw setrlimit": errno.EPERM, "unchanged": True}


def test_namespaces_mounts_and_kernel_surface(tmp_path):
    numbers = NUMBERS[MACHINE]

    def body():
        lib = libc()
        seccomp.install()
        me = os.getpid()
        # Arguments that would be harmless (or simply invalid) without the filter.
        errors = {
            "unshare": -1 if lib.unshare(0x00020000) == 0 else ctypes.get_errno(),  # CLONE_NEWNS
            "mount": -1 if lib.mount(b"none", str(tmp_path).encode(), b"no-such-fs", 0, None) == 0
            else ctypes.get_errno(),
            "chroot": attempt(lambda: os.chroot(str(tmp_path))),
            "ptrace": raw(numbers["ptrace"], 0x7FFF, me, 0, 0),
            "process_vm_readv": raw(numbers["process_vm_readv"], me, 0, 0, 0, 0, 0),
            "kcmp": raw(numbers["kcmp"], me, me, 0, 0, 0),
            "pidfd_getfd": raw(numbers["pidfd_getfd"], -1, 0, 0),
            "bpf": raw(numbers["bpf"], -1, 0, 0),
            "perf_event_open": raw(numbers["perf_event_open"], 0, 0, -1, -1, 0),
            "userfaultfd": raw(numbers["userfaultfd"], 0x7FFFFFFF),
            "keyctl": raw(numbers["keyctl"], -1, 0, 0, 0, 0),
            "io_uring_setup": raw(numbers["io_uring_setup"], 0, 0),
            "personality": raw(numbers["personality"], 0xFFFFFFFF),
            "setns": raw(numbers["setns"], -1, 0),
            "umount2": raw(numbers["umount2"], 0, 0),
            "open_tree": raw(numbers["open_tree"], -1, 0, 0),
            "fsopen": raw(numbers["fsopen"], 0, 0),
            "init_module": raw(numbers["init_module"], 0, 0, 0),
        }
        if "iopl" in numbers:
            errors["iopl"] = raw(numbers["iopl"], 0)
        return errors

    seen = in_child(body)
    assert seen.pop("chroot") == "PermissionError"
    assert seen == {name: errno.EPERM for name in seen}


@pytest.mark.skipif(MACHINE != "x86_64", reason="the x32 ABI exists on x86_64 only")
def test_x32_syscalls_kill_the_process():
    def body():
        return raw(0x40000000 | NUMBERS["x86_64"]["getpid"])

    assert run_in_child(lambda: raw(NUMBERS["x86_64"]["getpid"]))[0] == "ok"
    assert run_in_child(lambda: (seccomp.install(), body())) == ("signal", signal.SIGSYS)


def test_landlock_then_seccomp_then_import(tmp_path):
    if landlock.abi_version() == 0:
        pytest.skip("Landlock is not available on this kernel")
    pure = next((m for m in ("colorsys", "wave", "netrc", "tabnanny") if m not in sys.modules), None)
    native = next((m for m in ("audioop", "_crypt", "spwd", "nis", "_curses")
                   if m not in sys.modules and importlib.util.find_spec(m)), None)
    if pure is None:
        pytest.skip("every candidate module is already imported")
    (tmp_path / "outside.txt").write_text("secret")
    (tmp_path / "rw").mkdir()
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    system = ("/usr", "/lib", "/lib64", "/etc")

    def body():
        fs = landlock.restrict([*prefixes, *system], [str(tmp_path / "rw")])
        sc = seccomp.install()
        imported = [__import__(pure).__name__]
        if native:
            imported.append(__import__(native).__name__)
        (tmp_path / "rw" / "out.txt").write_text("written")
        return {
            "describe": (fs.describe().startswith("landlock ABI"), sc.describe().startswith("seccomp")),
            "imported": imported,
            "outside": attempt(lambda: (tmp_path / "outside.txt").read_text()),
            "fork": attempt(lambda: os.fork() == 0 and os._exit(0)),
            "inet": attempt(lambda: socket.socket().close()),
        }

    seen = in_child(body)
    assert seen == {
        "describe": (True, True),
        "imported": [pure] + ([native] if native else []),
        "outside": "PermissionError",
        "fork": "PermissionError",
        "inet": "PermissionError",
    }
    assert (tmp_path / "rw" / "out.txt").read_text() == "written"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="TensorFlow is not installed")
def test_tensorflow_threads_survive_the_filter():
    """TensorFlow starts its thread pools before the filter; TSYNC must cover them, clone must still work."""
    script = textwrap.dedent(
        """
        import os, threading
        import tensorflow as tf
        from autograder.run import seccomp
        before = tf.reduce_sum(tf.ones((64, 64)) @ tf.ones((64, 64)))
        seccomp.install()
        x = tf.random.normal((256, 256))
        tf.function(lambda a: tf.reduce_sum(a @ a))(x)
        ds = tf.data.Dataset.range(64).map(lambda v: v * 2, num_parallel_calls=4).batch(8)
        total = sum(int(tf.reduce_sum(b)) for b in ds)
        modes = {open(f"/proc/self/task/{t}/status").read().split("Seccomp:")[1].split()[0]
                 for t in os.listdir("/proc/self/task")}
        try:
            os.fork()
            fork = "allowed"
        except PermissionError:
            fork = "refused"
        print("RESULT", total, len(os.listdir("/proc/self/task")) > 1, sorted(modes), fork)
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    root = Path(seccomp.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RESULT 4032 True ['2'] refused" in done.stdout
