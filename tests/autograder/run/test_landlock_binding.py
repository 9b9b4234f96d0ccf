"""Landlock binding: every restriction is applied in a forked child, never in pytest itself."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest

import forked
from autograder.run import landlock


def run_in_child(body: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Run `body` in a forked child and return what it returns (it must pickle)."""
    kind, value = forked.run(body, timeout)
    if kind == "signal":
        pytest.fail(f"child killed by signal {value}")
    if kind == "error":
        pytest.fail(f"child raised:\n{value}")
    return value


attempt = forked.attempt


def read(path: str | Path) -> str:
    with open(path) as handle:
        return handle.read()


@pytest.fixture
def abi() -> int:
    version = landlock.abi_version()
    if version == 0:
        pytest.skip("Landlock is not available on this kernel")
    return version


@pytest.fixture
def trees(tmp_path: Path) -> dict[str, Path]:
    """allowed/ (read), rw/ (write), outside/ (neither, but single.txt is readable)."""
    allowed, rw, outside = tmp_path / "allowed", tmp_path / "rw", tmp_path / "outside"
    for folder in (allowed, rw, outside):
        folder.mkdir()
    (allowed / "file.txt").write_text("allowed")
    (outside / "secret.txt").write_text("secret")
    (outside / "single.txt").write_text("single")
    (rw / "existing.txt").write_text("existing")
    (allowed / "link").symlink_to(outside / "secret.txt")
    (allowed / "dirlink").symlink_to(outside)
    with sqlite3.connect(outside / "db.sqlite") as db:
        db.execute("create table t (x)")
        db.execute("insert into t values (42)")
    db.close()
    return {"root": tmp_path, "allowed": allowed, "rw": rw, "outside": outside}


def confine(trees: dict[str, Path], extra_read: tuple[str, ...] = ()) -> landlock.LandlockReport:
    reads = [str(trees["allowed"]), str(trees["outside"] / "single.txt"), str(trees["root"] / "missing"), *extra_read]
    return landlock.restrict(reads, [str(trees["rw"]), str(trees["rw"])])


def test_abi_version_is_an_int():
    version = landlock.abi_version()
    assert isinstance(version, int) and version >= 0


def test_unavailable_raises_before_touching_the_process(monkeypatch):
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    with pytest.raises(landlock.LandlockUnavailable) as error:
        landlock.restrict([], [])
    assert isinstance(error.value, OSError)


def test_report_and_describe(abi, trees):
    report = run_in_child(lambda: confine(trees))
    assert report == landlock.LandlockReport(
        abi=abi, fs=True, net_tcp=abi >= 4, scoped_signals=abi >= 6, scoped_abstract_unix=abi >= 6
    )
    text = report.describe()
    assert text.startswith(f"landlock ABI {abi} (files")
    if abi >= 6:
        assert text.endswith("(files, tcp, signals, abstract unix sockets)")
    off = run_in_child(lambda: landlock.restrict([], [], deny_tcp=False, scope=False))
    assert (off.fs, off.net_tcp, off.scoped_signals, off.scoped_abstract_unix) == (True, False, False, False)
    assert off.describe() == f"landlock ABI {abi} (files)"


def test_reading(abi, trees):
    outside, allowed = trees["outside"], trees["allowed"]

    def body():
        libc = ctypes.CDLL(None, use_errno=True)
        dir_fd = os.open(outside, os.O_RDONLY | os.O_DIRECTORY)  # opened before the restriction
        before = attempt(lambda: read(outside / "secret.txt"))
        confine(trees)

        def native_open():
            fd = libc.open(str(outside / "secret.txt").encode(), os.O_RDONLY)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "libc open")
            os.close(fd)

        def sqlite_read():
            db = sqlite3.connect(outside / "db.sqlite")
            try:
                return db.execute("select x from t").fetchall()
            finally:
                db.close()

        return {
            "before": before,
            "allowed": read(allowed / "file.txt"),
            "listdir": sorted(os.listdir(allowed)),
            "single file rule": read(outside / "single.txt"),
            "open outside": attempt(lambda: read(outside / "secret.txt")),
            "listdir outside": attempt(lambda: os.listdir(outside)),
            "dir_fd": attempt(lambda: os.close(os.open("secret.txt", os.O_RDONLY, dir_fd=dir_fd))),
            "native": attempt(native_open),
            "native errno": ctypes.get_errno(),
            "sqlite": attempt(sqlite_read),
            "file symlink": attempt(lambda: read(allowed / "link")),
            "dir symlink": attempt(lambda: read(allowed / "dirlink" / "secret.txt")),
        }

    seen = run_in_child(body)
    assert seen == {
        "before": "ok",
        "allowed": "allowed",
        "listdir": ["dirlink", "file.txt", "link"],
        "single file rule": "single",
        "open outside": "PermissionError",
        "listdir outside": "PermissionError",
        "dir_fd": "PermissionError",
        "native": "PermissionError",
        "native errno": 13,
        "sqlite": "OperationalError",
        "file symlink": "PermissionError",
        "dir symlink": "PermissionError",
    }


def test_writing(abi, trees):
    rw, outside, allowed = trees["rw"], trees["outside"], trees["allowed"]

    def body():
        confine(trees)

        def write_inside():
            (rw / "sub").mkdir()
            (rw / "sub" / "new.txt").write_text("new")
            os.rename(rw / "sub" / "new.txt", rw / "moved.txt")
            with open(rw / "existing.txt", "r+") as handle:
                handle.truncate(0)
            os.unlink(rw / "existing.txt")
            return read(rw / "moved.txt")

        return {
            "inside": write_inside(),
            "new outside": attempt(lambda: (outside / "new.txt").write_text("x")),
            "append outside": attempt(lambda: open(outside / "secret.txt", "a").close()),
            "write read-only tree": attempt(lambda: open(allowed / "file.txt", "a").close()),
            "unlink outside": attempt(lambda: os.unlink(outside / "secret.txt")),
            "mkdir outside": attempt(lambda: os.mkdir(outside / "d")),
            "move out": attempt(lambda: os.rename(rw / "moved.txt", outside / "moved.txt")),
            "symlink in rw": attempt(lambda: os.symlink(outside / "secret.txt", rw / "ln")),
            "through symlink": attempt(lambda: read(rw / "ln")),
        }

    seen = run_in_child(body)
    assert seen == {
        "inside": "new",
        "new outside": "PermissionError",
        "append outside": "PermissionError",
        "write read-only tree": "PermissionError",
        "unlink outside": "PermissionError",
        "mkdir outside": "PermissionError",
        "move out": "PermissionError",
        "symlink in rw": "ok",  # making the link is allowed; following it is not
        "through symlink": "PermissionError",
    }
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (outside / "new.txt").exists() and not (outside / "moved.txt").exists()


def test_tcp_refused(abi, trees):
    if abi < 4:
        pytest.skip("TCP rules need Landlock ABI 4")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def body():
            before = attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close())
            confine(trees)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # Landlock handles TCP only
            udp.close()

            def bind():
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))

            return {
                "before": before,
                "connect": attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close()),
                "bind": attempt(bind),
            }

        assert run_in_child(body) == {"before": "ok", "connect": "PermissionError", "bind": "PermissionError"}


def test_signals_and_abstract_sockets_scoped(abi, trees):
    if abi < 6:
        pytest.skip("scoping needs Landlock ABI 6")
    name = f"\0landlock-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(name)
        server.listen()

        def body():
            parent = os.getppid()
            before = attempt(lambda: os.kill(parent, 0))
            confine(trees)

            def pidfd_signal():
                fd = os.pidfd_open(parent)
                try:
                    signal.pidfd_send_signal(fd, 0)
                finally:
                    os.close(fd)

            def connect_abstract():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(name)

            return {
                "before": before,
                "self": attempt(lambda: os.kill(os.getpid(), 0)),
                "kill parent": attempt(lambda: os.kill(parent, 0)),
                "pidfd parent": attempt(pidfd_signal),
                "abstract unix": attempt(connect_abstract),
            }

        assert run_in_child(body) == {
            "before": "ok",
            "self": "ok",
            "kill parent": "PermissionError",
            "pidfd parent": "PermissionError",
            "abstract unix": "PermissionError",
        }


def test_other_processes_memory_unreadable(abi, trees):
    def body():
        parent = os.getppid()
        before = attempt(lambda: open(f"/proc/{parent}/environ", "rb").close())
        confine(trees, extra_read=("/proc",))
        return {
            "before": before,
            "own status": "Pid:" in read("/proc/self/status"),
            "environ": attempt(lambda: open(f"/proc/{parent}/environ", "rb").close()),
            "mem": attempt(lambda: open(f"/proc/{parent}/mem", "rb").close()),
        }

    seen = run_in_child(body)
    assert seen.pop("before") == "ok" and seen.pop("own status")
    environ = seen.pop("environ")
    assert seen == {"mem": "PermissionError"}
    if os.geteuid() != 0:
        # Root still reads /proc/<pid>/environ of a process outside the domain
        # (PTRACE_MODE_READ), as observed on 6.18: leave /proc out of `read` there.
        assert environ == "PermissionError"
