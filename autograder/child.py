"""The child side of the sandbox: runs one submission, forked from the zygote.

Before any student code it sets resource limits, caps output, moves to a
scratch directory and installs an audit hook that refuses what a graded cell
never needs (other processes, the network, native libraries, writing outside
its scratch directory, reading the paths it is denied). Progress goes back to
the zygote as JSON lines, one per event, so a crash keeps what finished.
"""

from __future__ import annotations

import contextlib
import io
import json
import linecache
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from typing import Any

FSIZE_BYTES = 10 * 2**20  # largest file the child may write
MAX_ERROR_CHARS = 4000
MAX_TRACEBACK_FRAMES = 8
GRACE_AFTER_EOF_S = 2.0
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

# Audit events refused outright in the child.
_DENIED_EVENTS = {
    "subprocess.Popen": "starting a process",
    "os.system": "starting a process",
    "os.exec": "starting a process",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "starting a process",
    "os.forkpty": "starting a process",
    "pty.spawn": "starting a process",
    "socket.connect": "network access",
    "socket.sendto": "network access",
    "socket.sendmsg": "network access",
    "ctypes.dlopen": "loading native libraries",
    "ctypes.dlsym": "loading native libraries",
    "sys.remote_exec": "debugging other processes",
}
# Events whose first argument is a path the child would change.
_WRITE_PATH_EVENTS = {
    "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
    "os.utime", "os.link", "os.symlink", "os.rename", "shutil.rmtree",
    "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr", "os.mkfifo", "os.mknod",
}
_READ_PATH_EVENTS = {"os.listdir", "os.scandir", "glob.glob", "os.chdir", "shutil.copyfile"}


# ---------------------------------------------------------------- child side


class _CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr for the child: writes to an fd until a shared budget is spent."""

    def __init__(self, fd: int, budget: list[int], name: str) -> None:
        self._fd = fd
        self._budget = budget  # shared between stdout and stderr: [bytes left]
        self._name = name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    @property
    def name(self) -> str:
        return self._name

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        left = self._budget[0]
        if left > 0:
            data = s[:left].encode("utf-8", "replace")[:left]
            self._budget[0] = left - len(data)
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError:  # file size limit reached
                self._budget[0] = 0
        return len(s)

    def flush(self) -> None:
        pass

    @property
    def buffer(self) -> "_CappedBinary":
        return _CappedBinary(self)


class _CappedBinary(io.RawIOBase):
    """`sys.stdout.buffer` for the child: bytes through the same budget."""

    def __init__(self, text: _CappedWriter) -> None:
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._text.write(data.decode("utf-8", "replace"))
        return len(data)


class _Channel:
    """The child's end of the progress pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, msg: dict) -> None:
        try:
            data = (json.dumps(msg) + "\n").encode("utf-8")
        except (TypeError, ValueError) as exc:
            if msg.get("kind") == "call":
                msg = {"kind": "call", "index": msg["index"], "ok": False, "value": None,
                       "error": f"TypeError: the probe's result is not plain JSON data ({exc})"}
                data = (json.dumps(msg) + "\n").encode("utf-8")
            else:
                raise
        while data:
            data = data[os.write(self.fd, data):]


def _format_error(exc: BaseException, filenames: set[str]) -> str:
    """`Type: message` plus the traceback frames that lie in the student's cells."""
    name = type(exc).__name__
    if isinstance(exc, SyntaxError):
        try:
            lines = traceback.format_exception_only(type(exc), exc)
            head = f"{name}: {exc.msg} (line {exc.lineno})"
            text = head + "\n" + "".join(lines[:-1]).rstrip("\n")
        except Exception:  # noqa: BLE001
            text = f"{name}: {exc!r}"
        return text[:MAX_ERROR_CHARS]
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may do anything
        message = "<message could not be shown>"
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + " ..."
    text = f"{name}: {message}" if message else name
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in filenames]
        if frames:
            skipped = len(frames) - MAX_TRACEBACK_FRAMES
            frames = frames[-MAX_TRACEBACK_FRAMES:]
            body = "".join(traceback.format_list(frames)).rstrip("\n")
            if skipped > 0:
                body = f"  ... {skipped} earlier frames not shown\n" + body
            text += "\nTraceback (your code, most recent call last):\n" + body
    except Exception:  # noqa: BLE001
        pass
    return text[: 2 * MAX_ERROR_CHARS]


def _make_audit_hook(work: str, deny: list[str]):
    allowed_write = [work, "/dev/null"]
    busy = [False]

    def under(path: str, roots: list[str]) -> bool:
        return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    def resolve(path: Any) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        try:
            return os.path.realpath(os.fsdecode(path))
        except Exception:  # noqa: BLE001
            return None

    def hook(event: str, args: tuple) -> None:
        if busy[0]:
            return
        reason = _DENIED_EVENTS.get(event)
        if reason is None and event.startswith("os.exec"):
            reason = "starting a process"
        if reason is not None:
            raise PermissionError(f"not allowed in the grader: {reason} ({event})")
        if event == "os.kill" or event == "os.killpg":
            if args and args[0] not in (0, os.getpid()):
                raise PermissionError("not allowed in the grader: signalling other processes")
            return
        if event == "open" or event in _WRITE_PATH_EVENTS or event in _READ_PATH_EVENTS:
            if not args:
                return
            busy[0] = True
            try:
                paths = [resolve(args[0])]
                if event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile") and len(args) > 1:
                    paths.append(resolve(args[1]))
                writing = event in _WRITE_PATH_EVENTS
                if event == "open":
                    mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
                    writing = bool(isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                        isinstance(mode, str) and any(c in mode for c in "wax+")
                    )
                if event == "shutil.copyfile":
                    if paths[-1] is not None and not under(paths[-1], allowed_write):
                        raise PermissionError(f"not allowed in the grader: writing to {paths[-1]}")
                    paths = paths[:1]
            finally:
                busy[0] = False
            for path in paths:
                if path is None:
                    continue
                if under(path, deny):
                    raise PermissionError(f"not allowed in the grader: access to {path}")
                if writing and not under(path, allowed_write):
                    raise PermissionError(
                        f"not allowed in the grader: writing to {path} (only the working directory is writable)"
                    )

    return hook


def _vm_size_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _prepare_child(job: dict, limits: dict, work: str, out_fd: int) -> None:
    import random
    import resource

    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXCPU, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the size limit fail instead
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    budget = [int(limits["output_bytes"]) + 1]
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = _CappedWriter(1, budget, "<stdout>")
    sys.stderr = _CappedWriter(2, budget, "<stderr>")
    os.chdir(work)
    os.environ["TMPDIR"] = work
    os.environ["HOME"] = work
    tempfile.tempdir = work

    seed = int(job.get("seed", 0))
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed % 2**32)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)

    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    fsize = FSIZE_BYTES
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    mem = _vm_size_bytes() + int(limits["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    try:  # subprocess' C helper raises no audit event of its own
        import _posixsubprocess

        def _refused(*args: Any, **kwargs: Any) -> None:
            raise PermissionError("not allowed in the grader: starting a process")

        _posixsubprocess.fork_exec = _refused  # type: ignore[attr-defined]
    except ImportError:
        pass


class StepTimeLimit(BaseException):
    """Raised in the child when one cell or one check runs past its own time limit."""


class _StepTimer:
    """Wall-clock limit for one step (a graded cell or one call), with SIGALRM.

    While armed, the alarm repeats every `REPEAT_S`, so student code that
    swallows the first `StepTimeLimit` is interrupted again; code that swallows
    them all runs into the submission's own wall-clock limit.
    """

    REPEAT_S = 0.25

    def __init__(self) -> None:
        self.armed = False
        self.limit = 0.0
        signal.signal(signal.SIGALRM, self._fire)

    def _fire(self, signum: int, frame: Any) -> None:
        if self.armed:
            raise StepTimeLimit(f"stopped after {self.limit:g} s, the time limit of this step")

    def arm(self, limit: float | None) -> None:
        if limit and limit > 0:
            self.limit = float(limit)
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.limit, self.REPEAT_S)

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0, 0)

    @contextlib.contextmanager
    def limited(self, limit: float | None) -> Iterator[None]:
        """Runs the body under `limit` seconds (no limit when it is falsy)."""
        try:
            self.arm(limit)
            yield
        finally:
            self.disarm()


def _resolve_probe(spec: str):
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "run_call")


def _child_main(job: dict, limits: dict, probe_spec: str, work: str, out_fd: int, chan_fd: int) -> None:
    chan = _Channel(chan_fd)
    _prepare_child(job, limits, work, out_fd)
    probe, probe_error = None, None
    calls = list(job.get("calls") or [])
    if calls:
        try:
            probe = _resolve_probe(probe_spec)
        except BaseException as exc:  # noqa: BLE001
            probe_error = f"the grader's probe {probe_spec!r} could not be loaded: {type(exc).__name__}: {exc}"
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    deny = [os.path.realpath(p) for p in job.get("deny_paths") or []]

    for i, code in enumerate(job.get("setup") or []):
        try:
            exec(compile(code, f"<setup {i}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001
            chan.send({"kind": "setup_error", "error": _format_error(exc, {f"<setup {i}>"})})
            return

    timer = _StepTimer()
    sys.addaudithook(_make_audit_hook(os.path.realpath(work), deny))
    filenames: set[str] = set()
    out_of_time: set[str] = set()  # exercises with a step stopped at its time limit

    def run_calls(exercise: str | None) -> None:
        """Runs the calls of `exercise` (None: every call not run yet), in order."""
        for i, call in enumerate(calls):
            if i in done_calls or (exercise is not None and call.get("exercise") != exercise):
                continue
            done_calls.add(i)
            name = str(call.get("exercise", ""))
            chan.send({"kind": "call_start", "index": i, "exercise": name})
            if probe is None or name in out_of_time:
                error = probe_error if probe is None else (
                    "StepTimeLimit: not run, because an earlier check of this exercise ran out of time")
                chan.send({"kind": "call", "index": i, "ok": False, "value": None, "error": error, "seconds": 0.0})
                continue
            started = time.perf_counter()
            try:
                with timer.limited(call.get("time_limit_s")):
                    value = probe(namespace, call)
                msg = {"kind": "call", "index": i, "ok": True, "value": value, "error": None}
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, StepTimeLimit):
                    out_of_time.add(name)
                msg = {"kind": "call", "index": i, "ok": False, "value": None, "error": _format_error(exc, filenames)}
            msg["seconds"] = round(time.perf_counter() - started, 4)
            chan.send(msg)

    # Each cell is followed by its own checks, so a later cell that hangs or
    # exits costs only its own exercise and the ones after it.
    done_calls: set[int] = set()
    for i, cell in enumerate(job.get("cells") or []):
        exercise = str(cell.get("exercise", f"cell {i}"))
        code = str(cell.get("code", ""))
        filename = f"<cell {i}: {exercise}>"
        filenames.add(filename)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        chan.send({"kind": "cell_start", "index": i, "exercise": exercise})
        started = time.perf_counter()
        try:
            with timer.limited(cell.get("time_limit_s")):
                exec(compile(code, filename, "exec"), namespace)
            msg = {"kind": "cell", "index": i, "exercise": exercise, "ok": True, "error": None}
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            if isinstance(exc, StepTimeLimit):
                out_of_time.add(exercise)
            msg = {"kind": "cell", "index": i, "exercise": exercise, "ok": False,
                   "error": _format_error(exc, filenames)}
        msg["seconds"] = round(time.perf_counter() - started, 4)
        chan.send(msg)
        run_calls(exercise)
    run_calls(None)
    chan.send({"kind": "done"})
