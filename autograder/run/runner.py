"""The job's child: runs the grader's setup, the student's cells and the calls.

Runs inside the boundary (`autograder.run.guard`), so nothing here protects
the class: the audit hook below only turns what the kernel would refuse
anyway into messages a student can act on. Progress goes to the supervisor as
protocol messages, one per event, so what finished before a crash is kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import linecache
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from typing import Any, Callable

from autograder.rules.watch import call_watched, watched
from autograder.run import tf_state
from autograder.run.job import Job
from autograder.run.protocol import (
    CallDone, CallResult, CallStart, CellDone, CellStart, Done, ErrorInfo, LineReader, Message, SetupFailed,
    StepResult, write_line,
)

MAX_ERROR_CHARS = 4000
MAX_TRACEBACK_FRAMES = 8
_FRIENDLY = {
    "subprocess.Popen": "starting a process", "os.system": "starting a process", "os.exec": "starting a process",
    "os.posix_spawn": "starting a process", "os.spawn": "starting a process", "os.fork": "starting a process",
    "os.forkpty": "starting a process", "pty.spawn": "starting a process",
    "socket.connect": "network access", "socket.sendto": "network access", "socket.sendmsg": "network access",
    "sys.remote_exec": "debugging other processes",
}


class StepTimeLimit(BaseException):
    """Raised in the child when one cell or one check runs past its own time limit."""


class CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr for the child: writes to an fd until a shared budget is spent."""

    def __init__(self, fd: int, budget: list[int], name: str) -> None:
        self._fd, self._budget, self._name = fd, budget, name

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

    def __init__(self, text: CappedWriter) -> None:
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._text.write(data.decode("utf-8", "replace"))
        return len(data)


def error_info(exc: BaseException, filenames: set[str]) -> ErrorInfo:
    """An exception as data: type, message, and the frames in the student's cells."""
    name = type(exc).__name__
    timed_out = isinstance(exc, StepTimeLimit)
    if isinstance(exc, SyntaxError):
        try:
            lines = traceback.format_exception_only(type(exc), exc)
            body = "".join(lines[:-1]).rstrip("\n")
        except Exception:  # noqa: BLE001
            body = ""
        return ErrorInfo(name, f"{exc.msg} (line {exc.lineno})"[:MAX_ERROR_CHARS], body[:MAX_ERROR_CHARS],
                         False, int(exc.lineno or 0))
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may do anything
        message = "<message could not be shown>"
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + " ..."
    body, line = "", 0
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in filenames]
        if frames:
            line = int(frames[-1].lineno or 0)
            skipped = len(frames) - MAX_TRACEBACK_FRAMES
            frames = frames[-MAX_TRACEBACK_FRAMES:]
            body = "".join(traceback.format_list(frames)).rstrip("\n")
            if skipped > 0:
                body = f"  ... {skipped} earlier frames not shown\n" + body
            body = "Traceback (your code, most recent call last):\n" + body
    except Exception:  # noqa: BLE001
        pass
    return ErrorInfo(name, message, body[:2 * MAX_ERROR_CHARS], timed_out, line)


def friendly_hook(event: str, args: tuple) -> None:
    """An audit hook that names what the kernel is about to refuse (not a boundary).

    It runs on every audited event, and the rules' watch makes one per call it sees (reading a frame's
    code is audited): one dictionary lookup is all it does for the rest.
    """
    if event in _FRIENDLY:
        raise PermissionError(f"not allowed in the grader: {_FRIENDLY[event]} ({event})")


class StepTimer:
    """Time limits for one step (a graded cell or one call): wall-clock (SIGALRM) and CPU time (SIGPROF).

    The CPU limit counts the job process's computing (every thread), which another job's load barely
    changes, so it can be tight; the wall-clock one, which also catches code that waits (a sleep, a
    blocked read), stays generous. While armed, each alarm repeats every `REPEAT_S`, so student code that
    swallows the first `StepTimeLimit` is interrupted again; code that swallows them all runs into the
    supervisor's wall-clock limit.
    """

    REPEAT_S = 0.25

    def __init__(self) -> None:
        self.armed = False
        self.fired = False
        self.limit = 0.0
        self.cpu_limit = 0.0
        self.by_cpu = False
        signal.signal(signal.SIGALRM, self._fire)
        signal.signal(signal.SIGPROF, self._fire)

    def stop(self) -> StepTimeLimit:
        if self.by_cpu:
            return StepTimeLimit(f"stopped after {self.cpu_limit:g} s of computing, the time limit of this step")
        return StepTimeLimit(f"stopped after {self.limit:g} s, the time limit of this step")

    def _fire(self, signum: int, frame: Any) -> None:
        if self.armed:
            if not self.fired:
                self.by_cpu = signum == signal.SIGPROF
            self.fired = True
            raise self.stop()

    @contextlib.contextmanager
    def limited(self, limit: float | None, cpu_limit: float | None = None) -> Iterator[None]:
        """Runs the body under `limit` seconds of wall-clock time and `cpu_limit` seconds of CPU time (no
        limit where falsy; a CPU limit at or above the wall-clock one adds nothing).

        `fired` then says whether a limit was reached, also when the body caught the `StepTimeLimit` (or
        TensorFlow's clean-up replaced it with its own error) and went on.
        """
        self.fired = self.by_cpu = False
        wall = float(limit) if limit and limit > 0 else 0.0
        cpu = float(cpu_limit) if cpu_limit and cpu_limit > 0 and (not wall or cpu_limit < wall) else 0.0
        try:
            self.limit, self.cpu_limit, self.armed = wall, cpu, bool(wall or cpu)
            if wall:
                signal.setitimer(signal.ITIMER_REAL, wall, self.REPEAT_S)
            if cpu:
                signal.setitimer(signal.ITIMER_PROF, cpu, self.REPEAT_S)
            yield
        finally:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.setitimer(signal.ITIMER_PROF, 0, 0)


def redirect_output(out_fd: int, output_bytes: int, work: str) -> None:
    """stdin from /dev/null, stdout/stderr into the capped output file, home and temp in `work`."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    if out_fd > 2:
        os.close(out_fd)
    budget = [int(output_bytes) + 1]
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = CappedWriter(1, budget, "<stdout>")
    sys.stderr = CappedWriter(2, budget, "<stderr>")
    os.chdir(work)
    for name in ("TMPDIR", "HOME", "MPLCONFIGDIR"):
        os.environ[name] = work
    tempfile.tempdir = work


def seed_everything(seed: int) -> None:
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed % 2**32)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def resolve_probe(spec: str) -> Callable[[dict, dict], Any]:
    """`module:function` -> the function (the grader's probe, run in the child)."""
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "run_call")


def run(job: Job, probe_spec: str, chan_fd: int, calls_fd: int | None = None) -> None:
    """Runs a job in this (already guarded) process, sending progress on `chan_fd`.

    With `calls_fd`, `job.calls` holds only each call's name and rules: after
    `CallStart(i)` the supervisor sends call i in full (its inputs) on
    `calls_fd`, one JSON line, and times the call from then on.
    """
    specs = None if calls_fd is None else LineReader(calls_fd)

    def send(msg: Message) -> None:
        write_line(chan_fd, msg)

    probe, probe_error = None, None
    if job.calls:
        try:
            probe = resolve_probe(probe_spec)
        except BaseException as exc:  # noqa: BLE001
            probe_error = ErrorInfo(type(exc).__name__, f"the grader's probe {probe_spec!r} could not be loaded: {exc}")
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    for i, code in enumerate(job.setup):
        try:
            exec(compile(code, f"<setup {i}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001
            send(SetupFailed(error_info(exc, {f"<setup {i}>"})))
            return
    seed_everything(job.seed)
    timer = StepTimer()
    sys.addaudithook(friendly_hook)
    filenames: set[str] = set()
    out_of_time: set[str] = set()
    done_calls: set[int] = set()

    def run_calls(exercise: str | None) -> None:
        for i, call in enumerate(job.calls):
            if i in done_calls or (exercise is not None and call.get("exercise") != exercise):
                continue
            done_calls.add(i)
            name = str(call.get("exercise", ""))
            send(CallStart(i))
            if specs is not None:
                line = specs.read_line()
                call = json.loads(line) if line is not None else call
            if probe is None or name in out_of_time:
                error = probe_error or ErrorInfo(
                    "StepTimeLimit", "not run, because an earlier check of this exercise ran out of time", "", True)
                send(CallDone(i, CallResult(False, None, error, 0.0)))
                continue
            started, started_cpu = time.perf_counter(), time.process_time()
            before = tf_state.snapshot()
            try:
                with timer.limited(call.get("time_limit_s"), call.get("cpu_limit_s")):
                    value = call_watched(namespace, str(call.get("function", name)), name, call.get("rules"),
                                         lambda: probe(namespace, call), others)  # noqa: B023 - called at once
                result = CallResult(True, value, None)
            except BaseException as exc:  # noqa: BLE001
                result = CallResult(False, None, error_info(exc, filenames))
            if timer.fired and not (result.error is not None and result.error.timed_out):
                result = CallResult(False, None, error_info(timer.stop(), filenames))  # its stop was swallowed
            if result.error is not None and result.error.timed_out:
                out_of_time.add(name)
            tf_state.restore(before)  # a call stopped inside a trace leaves no graph mode to the next one
            seconds, cpu = round(time.perf_counter() - started, 4), round(time.process_time() - started_cpu, 4)
            msg = CallDone(i, CallResult(result.ok, result.value, result.error, seconds, cpu))
            try:
                send(msg)
            except (TypeError, ValueError) as exc:  # the value is not plain data
                send(CallDone(i, CallResult(False, None, ErrorInfo(
                    "TypeError", f"the probe's result is not plain data ({exc})"), seconds)))

    rules_of = {str(c.get("exercise", "")): c.get("rules") for c in job.calls if c.get("rules")}
    function_of = {str(c.get("exercise", "")): str(c.get("function", c.get("exercise", ""))) for c in job.calls}
    others = {function_of[name]: rules for name, rules in rules_of.items()}  # what each answers for itself
    for i, cell in enumerate(job.cells):
        exercise = cell.exercise or f"cell {i}"
        filename = f"<cell {i}: {exercise}>"
        filenames.add(filename)
        linecache.cache[filename] = (len(cell.code), None, cell.code.splitlines(True), filename)
        send(CellStart(i))
        started, started_cpu = time.perf_counter(), time.process_time()
        before = tf_state.snapshot()
        try:
            code = compile(cell.code, filename, "exec")
            with timer.limited(cell.time_limit_s, cell.cpu_limit_s):
                watched(lambda: exec(code, namespace), exercise, rules_of.get(exercise), False, namespace,  # noqa: B023
                        {f: r for f, r in others.items() if f != function_of.get(exercise)})
            step = StepResult(True, None)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            step = StepResult(False, error_info(exc, filenames))
        if timer.fired and not (step.error is not None and step.error.timed_out):
            step = StepResult(False, error_info(timer.stop(), filenames))  # its stop was swallowed
        if step.error is not None:
            if step.error.timed_out:
                out_of_time.add(exercise)
            tf_state.restore(before)
        send(CellDone(i, StepResult(step.ok, step.error, round(time.perf_counter() - started, 4),
                                    round(time.process_time() - started_cpu, 4))))
        run_calls(exercise)
    run_calls(None)
    send(Done())
