"""The supervisor: forked from the template for one job, it forks the job's child and watches it.

The template never reads a job, so no job's data is in the memory that later
children inherit. The supervisor reads its job from the master, makes the
job's scratch folder, forks the child (which guards itself, then runs the
student's code), and only then receives the per-job token that its result
must carry: the child never had it in memory, and cannot read the
supervisor's (another uid or Landlock domain, and the supervisor is not
dumpable). It decodes the child's progress strictly and composes the result.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from autograder.run import guard, runner
from autograder.run.job import Job
from autograder.run.limits import Limits
from autograder.run.protocol import (
    CallDone, CallResult, CallStart, CellDone, CellStart, Done, ErrorInfo, Finished, Forked, JobRequest, LineReader,
    ProtocolError, RunResult, SetupFailed, Spawned, StepResult, Token, decode, write_line,
)

MAX_PROGRESS_BYTES = 256 * 2**20  # progress data kept from one child
MAX_BAD_LINES = 1
_CHILD_MESSAGES = (CellStart, CellDone, CallStart, CallDone, SetupFailed, Done)


@dataclass
class Collected:
    """What the supervisor learned from one child's progress pipe."""

    job: Job
    cells: dict[int, StepResult] = field(default_factory=dict)
    calls: dict[int, CallResult] = field(default_factory=dict)
    current: str | None = None
    current_cell: int | None = None
    setup_error: str | None = None
    done: bool = False
    bad: list[str] = field(default_factory=list)

    def feed(self, line: bytes) -> None:
        try:
            msg = decode(line, _CHILD_MESSAGES)
            self._take(msg)
        except ProtocolError as exc:
            self.bad.append(str(exc))

    def _take(self, msg: Any) -> None:
        n_cells, n_calls = len(self.job.cells), len(self.job.calls)
        if isinstance(msg, (CellStart, CellDone)) and not msg.index < n_cells:
            raise ProtocolError(f"cell index {msg.index} out of range")
        if isinstance(msg, (CallStart, CallDone)) and not msg.index < n_calls:
            raise ProtocolError(f"call index {msg.index} out of range")
        if isinstance(msg, CellStart):
            self.current_cell = msg.index
            self.current = f"exercise '{self.job.cells[msg.index].exercise}'"
        elif isinstance(msg, CellDone):
            self.cells[msg.index] = msg.step
            self.current = self.current_cell = None
        elif isinstance(msg, CallStart):
            exercise = self.job.calls[msg.index].get("exercise", "")
            self.current = f"check {msg.index + 1} of {n_calls} (exercise '{exercise}')"
            self.current_cell = None
        elif isinstance(msg, CallDone):
            self.calls[msg.index] = msg.call
            self.current = None
        elif isinstance(msg, SetupFailed):
            self.setup_error = msg.error.text()
        elif isinstance(msg, Done):
            self.done = True


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _read_output(fd: int, limit: int) -> str:
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, limit + 1, 0)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    if len(data) > limit:
        text += f"\n[output truncated: only the first {limit} bytes of {max(size, limit + 1)}+ are kept]"
    return text


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_job(job: Job, limits: Limits, plan: guard.Plan, probe: str, slot_dir: str,
            master_fds: tuple[int, ...], on_forked) -> RunResult:
    """Forks the guarded child for `job`, watches it, and returns its result."""
    root = os.path.join(slot_dir, f"job-{os.getpid()}")
    os.mkdir(root, 0o700)
    work = os.path.join(root, "work")
    os.mkdir(work, 0o700)
    if plan.uid is not None:
        os.chown(work, plan.uid, plan.uid)
        os.chmod(root, 0o711)
    out_fd = os.open(os.path.join(root, "output.txt"), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    r, w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the job's child

        def child() -> None:
            os.close(r)
            for fd in master_fds:
                os.close(fd)
            runner.redirect_output(out_fd, limits.output_bytes, work)
            guard.apply(plan, limits, work, tuple(job.deny_paths))
            runner.run(job, probe, w)

        run_then_exit(child, 70)
    os.close(w)
    try:
        on_forked()
    except BaseException:
        _kill(pid)
        os.wait4(pid, 0)
        os.close(r)
        os.close(out_fd)
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        return _watch(job, limits, pid, r, out_fd, start)
    finally:
        os.close(r)
        os.close(out_fd)
        shutil.rmtree(root, ignore_errors=True)


def _watch(job: Job, limits: Limits, pid: int, r: int, out_fd: int, start: float) -> RunResult:
    got = Collected(job)
    deadline = start + limits.timeout_s
    pending = bytearray()
    total = 0
    timed_out = too_big = False
    status_word, rusage, eof = None, None, False
    while True:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        if not eof:
            ready, _, _ = select.select([r], [], [], min(deadline - now, 0.5))
            if ready:
                chunk = os.read(r, 1 << 16)
                if not chunk:
                    eof = True
                    continue
                total += len(chunk)
                if total > MAX_PROGRESS_BYTES:
                    too_big = True
                    break
                pending += chunk
                while (end := pending.find(b"\n")) >= 0:
                    got.feed(bytes(pending[:end]))
                    del pending[: end + 1]
                if len(got.bad) > MAX_BAD_LINES:
                    break
                continue
        pid_done, status, ru = os.wait4(pid, os.WNOHANG)
        if pid_done:
            status_word, rusage = status, ru
            break
        if eof:
            time.sleep(0.005)
    _kill(pid)
    if status_word is None:
        _, status_word, rusage = os.wait4(pid, 0)
    if not timed_out and not too_big:  # drain what the child wrote before it ended
        while select.select([r], [], [], 0)[0]:
            chunk = os.read(r, 1 << 16)
            if not chunk or total + len(chunk) > MAX_PROGRESS_BYTES:
                break
            total += len(chunk)
            pending += chunk
            while (end := pending.find(b"\n")) >= 0:
                got.feed(bytes(pending[:end]))
                del pending[: end + 1]
    output = _read_output(out_fd, limits.output_bytes)
    return compose(got, limits, status_word, rusage, timed_out, too_big, output, time.monotonic() - start)


def compose(got: Collected, limits: Limits, status_word: int, rusage: Any, timed_out: bool,
            too_big: bool, output: str, wall: float) -> RunResult:
    """The job's result from what was collected and how the child ended."""
    where = f" while running {got.current}" if got.current else ""
    cpu_used = (rusage.ru_utime + rusage.ru_stime) if rusage is not None else 0.0
    status, message = "ok", ""
    if got.bad:
        status, message = "protocol", f"the job's process sent a message the grader does not accept ({got.bad[0]})"
    elif timed_out:
        status, message = "timeout", f"stopped after {limits.timeout_s:g} s (wall-clock limit){where}"
    elif too_big:
        status, message = "crashed", f"stopped: sent more than {MAX_PROGRESS_BYTES // 2**20} MB of results{where}"
    elif os.WIFSIGNALED(status_word):
        sig = os.WTERMSIG(status_word)
        grew_mb = max(0.0, rusage.ru_maxrss / 1024 - BASE_RSS_MB[0]) if rusage is not None else 0.0
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_used >= limits.cpu_s - 0.5):
            status, message = "cpu", f"stopped after {cpu_used:.0f} s of CPU time (CPU limit {limits.cpu_s} s){where}"
        elif grew_mb >= 0.9 * limits.memory_mb or sig == signal.SIGKILL:
            status, message = "memory", (f"stopped by {_signal_name(sig)} after using about {grew_mb:.0f} MB "
                                         f"(memory limit {limits.memory_mb} MB){where}")
        else:
            status, message = "crashed", f"the process crashed ({_signal_name(sig)}){where}"
    elif got.setup_error is not None:
        status, message = "crashed", f"the grader's setup code failed: {got.setup_error}"
    elif not got.done:
        status, message = "exited", f"the process ended itself (exit code {os.WEXITSTATUS(status_word)}){where}"
    cells: dict[str, StepResult] = {}
    for i, cell in enumerate(got.job.cells):
        if i in got.cells:
            cells[cell.exercise] = got.cells[i]
        elif i == got.current_cell:
            cells[cell.exercise] = StepResult(False, ErrorInfo("JobStopped", message, "", status == "timeout"))
        elif cell.exercise not in cells:
            cells[cell.exercise] = StepResult(False, ErrorInfo("NotRun", f"not run: {message}" if message else "not run"))
    calls = [got.calls.get(i) for i in range(len(got.job.calls))]
    if status == "protocol":  # nothing the child sent can be trusted
        calls = [None] * len(calls)
    return RunResult(status, message, cells, calls, output, round(wall, 4))


BASE_RSS_MB = [0.0]  # the template's resident size, set at start-up


def run_then_exit(body, failure_code: int) -> None:
    """Runs `body` in a forked process, then ends that process (never returns)."""
    code = 0
    try:
        body()
    except BaseException:  # noqa: BLE001
        code = failure_code
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


def main(config: dict, plan: guard.Plan, limits: Limits, slot_dir: str, fd_in: int, fd_out: int) -> None:
    """The supervisor's whole life: one job, then exit (never returns)."""
    run_then_exit(lambda: _serve_one(config, plan, limits, slot_dir, fd_in, fd_out), 71)


def _serve_one(config: dict, plan: guard.Plan, limits: Limits, slot_dir: str, fd_in: int, fd_out: int) -> None:
    """Reads the job, forks its child, takes the token, sends the result."""
    guard.prctl(guard.PR_SET_DUMPABLE, 0)  # no same-uid process may read this memory (the token)
    guard.prctl(guard.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the template
    reader = LineReader(fd_in)
    write_line(fd_out, Spawned())
    line = reader.read_line()
    if line is None:
        return
    request = decode(line, (JobRequest,))
    job = Job.from_dict(request.job)
    secret: list[str] = []

    def on_forked() -> None:
        write_line(fd_out, Forked())
        token_line = reader.read_line()
        if token_line is None:
            raise ProtocolError("the grader closed the channel before sending the token")
        secret.append(decode(token_line, (Token,)).secret)

    result = run_job(job, limits, plan, str(config["probe"]), slot_dir, (fd_in, fd_out), on_forked)
    write_line(fd_out, Finished(secret[0], result))
