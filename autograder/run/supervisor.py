"""The supervisor: forked from the template for one job, it forks the job's child and watches it.

The template never reads a job, so no job's data is in the memory that later
children inherit. The supervisor makes the job's scratch folder (and cgroup),
forks the child, and only then reads its job from the master: the child is
sent the job without the paths it must not read (other students' folders)
and with each call's inputs held back until that call starts, and never has
the per-job token that the result must carry in memory (it cannot read the
supervisor's: another uid or Landlock domain, and the supervisor is not
dumpable). The supervisor decodes the child's progress strictly, times every
step itself (the child's own clock is never used), stops a step that runs
past its limit, measures the scratch folder where no tmpfs caps it, composes
the result, and then removes what the job left within a bound.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from autograder.run import guard, mounts, runner
from autograder.run.scope import Scope, over_quota
from autograder.run.job import Job
from autograder.run.limits import Limits
from autograder.run.protocol import (
    MAX_VALUES, CallDone, CallResult, CallStart, CellDone, CellStart, Done, ErrorInfo, Finished, Forked, JobRequest,
    LineReader, ProtocolError, RunResult, SetupFailed, Spawned, StepResult, Token, count_values, decode, write_line,
)

MAX_PROGRESS_BYTES = 64 * 2**20  # progress data kept from one child (the grading process decodes it again)
MAX_BAD_LINES = 1
STEP_GRACE_S = 2.0  # past a step's own limit, the supervisor stops the job (the child's timer is only a courtesy)
QUOTA_POLL_S = 0.25  # how often the scratch folder is measured when no tmpfs caps it
STUB_KEYS = ("exercise", "function", "rules", "time_limit_s", "cpu_limit_s")
"""What the child knows of a call before it starts."""
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
    started: dict[tuple[str, int], float] = field(default_factory=dict)
    step_deadline: float | None = None
    step_limit: float = 0.0
    requested: list[int] = field(default_factory=list)

    def feed(self, line: bytes) -> None:
        try:
            msg = decode(line, _CHILD_MESSAGES)
            self._take(msg, time.monotonic())
        except ProtocolError as exc:
            self.bad.append(str(exc))

    def _start(self, key: tuple[str, int], now: float, limit: Any) -> None:
        if key in self.started:
            raise ProtocolError(f"{key[0]} {key[1]} started twice")
        self.started[key] = now
        self.step_limit = float(limit) if isinstance(limit, (int, float)) and limit > 0 else 0.0
        self.step_deadline = now + self.step_limit + STEP_GRACE_S if self.step_limit else None

    def _seconds(self, key: tuple[str, int], done: dict, now: float) -> float:
        """The step's time as the supervisor measured it (the child's own figure is ignored)."""
        if key not in self.started or key[1] in done:
            raise ProtocolError(f"{key[0]} {key[1]} finished without starting, or twice")
        self.step_deadline = None
        return round(now - self.started[key], 4)

    def _take(self, msg: Any, now: float) -> None:
        n_cells, n_calls = len(self.job.cells), len(self.job.calls)
        if isinstance(msg, (CellStart, CellDone)) and not msg.index < n_cells:
            raise ProtocolError(f"cell index {msg.index} out of range")
        if isinstance(msg, (CallStart, CallDone)) and not msg.index < n_calls:
            raise ProtocolError(f"call index {msg.index} out of range")
        if isinstance(msg, CellStart):
            self._start(("cell", msg.index), now, self.job.cells[msg.index].time_limit_s)
            self.current_cell = msg.index
            self.current = f"exercise '{self.job.cells[msg.index].exercise}'"
        elif isinstance(msg, CellDone):
            seconds = self._seconds(("cell", msg.index), self.cells, now)
            self.cells[msg.index] = StepResult(msg.step.ok, msg.step.error, seconds, msg.step.cpu_s)
            self.current = self.current_cell = None
        elif isinstance(msg, CallStart):
            self._start(("call", msg.index), now, self.job.calls[msg.index].get("time_limit_s"))
            self.requested.append(msg.index)  # its inputs go to the child now: the clock starts here
            exercise = self.job.calls[msg.index].get("exercise", "")
            self.current = f"check {msg.index + 1} of {n_calls} (exercise '{exercise}')"
            self.current_cell = None
        elif isinstance(msg, CallDone):
            seconds = self._seconds(("call", msg.index), self.calls, now)
            self.calls[msg.index] = CallResult(msg.call.ok, msg.call.value, msg.call.error, seconds, msg.call.cpu_s)
            self.current = None
        elif isinstance(msg, SetupFailed):
            # Only the grader's own setup runs before the first cell: once a student's cell has
            # started, a "setup failed" message can only be the student's code speaking.
            if self.started or self.setup_error is not None:
                raise ProtocolError("a setup failure was reported after the submission's code started")
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


def _receive_job(fd: int) -> tuple[Job, list[str]]:
    """In the child: the job (without the paths it must not read) and the trees it may read."""
    data = bytearray()
    while chunk := os.read(fd, 1 << 20):
        data += chunk
    os.close(fd)
    payload = json.loads(bytes(data))
    return Job.from_dict(payload["job"]), [str(p) for p in payload["read"]]


def _stub(job: Job) -> Job:
    """What the child is given: cells, and of each call only its name and rules (inputs come when it starts)."""
    calls = [{k: c[k] for k in STUB_KEYS if k in c} for c in job.calls]
    return Job(job.setup, job.cells, calls, job.seed, [])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _serve_one(config: dict, plan: guard.Plan, limits: Limits, slot_dir: str, fd_in: int, fd_out: int) -> None:
    """Makes the job's scope, forks its child, reads the job, takes the token, sends the result, cleans up.

    The child is forked before the job is read, so it never holds what only
    the supervisor needs: the paths it must not read (other students' folders),
    the master's messages, the token, and the inputs of a call not yet started.
    """
    guard.prctl(guard.PR_SET_DUMPABLE, 0)  # no same-uid process may read this memory (the token)
    guard.prctl(guard.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the template
    reader = LineReader(fd_in)
    scope = Scope.make(plan, limits, slot_dir)
    r, w = os.pipe()  # progress, child -> supervisor
    job_r, job_w = os.pipe()  # the job, supervisor -> child, once
    calls_r, calls_w = os.pipe()  # each call's inputs as it starts, supervisor -> child
    pid = os.fork()
    if pid == 0:  # the job's child

        def child() -> None:
            for fd in (job_w, calls_w, r, fd_in, fd_out):
                os.close(fd)
            guard.prctl(guard.PR_SET_PDEATHSIG, signal.SIGKILL)
            job, read = _receive_job(job_r)
            if scope.group is not None:
                scope.group.join()
            if plan.tmpfs:
                mounts.enter(scope.work, mounts.Scratch(limits.scratch_mb, limits.scratch_files), plan.uid,
                             plan.expose)
            runner.redirect_output(scope.out_fd, limits.output_bytes, scope.work)
            guard.apply(plan, limits, scope.work, read=tuple(read))
            runner.run(job, str(config["probe"]), w, calls_r)

        run_then_exit(child, 70)
    for fd in (job_r, calls_r, w):
        os.close(fd)
    try:
        write_line(fd_out, Spawned())
        line = reader.read_line()
        if line is None:
            return
        job = Job.from_dict(decode(line, (JobRequest,)).job)
        read = guard.carve(plan.read, tuple(plan.deny) + tuple(os.path.realpath(d) for d in job.deny_paths))
        _write_all(job_w, json.dumps({"job": _stub(job).to_dict(), "read": read}).encode())
        os.close(job_w)
        job_w = -1
        write_line(fd_out, Forked())
        token_line = reader.read_line()
        if token_line is None:
            raise ProtocolError("the grader closed the channel before sending the token")
        secret = decode(token_line, (Token,)).secret
        result = _watch(job, limits, plan, pid, r, calls_w, scope, time.monotonic())
        write_line(fd_out, Finished(secret, result))
    finally:
        _kill(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        for fd in (job_w, calls_w, r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        scope.close()


def _spec_line(call: dict) -> bytes:
    return (json.dumps(call, allow_nan=True, separators=(",", ":")) + "\n").encode()


def _watch(job: Job, limits: Limits, plan: guard.Plan, pid: int, r: int, calls_w: int, scope: Scope,
           start: float) -> RunResult:
    got = Collected(job)
    deadline = start + limits.timeout_s
    pending, outgoing = bytearray(), bytearray()
    total = values = 0
    timed_out = too_big = False
    stopped: tuple[str, str] | None = None
    status_word, rusage, eof = None, None, False
    next_quota = start + QUOTA_POLL_S if not plan.tmpfs else float("inf")
    os.set_blocking(calls_w, False)
    while True:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        if got.step_deadline is not None and now >= got.step_deadline:
            stopped = ("timeout", f"stopped after {got.step_limit:g} s, the time limit of this step")
            break
        if now >= next_quota:
            over = over_quota(scope.work, limits)
            if over:
                stopped = ("crashed", over)
                break
            next_quota = time.monotonic() + QUOTA_POLL_S
        while got.requested:
            outgoing += _spec_line(job.calls[got.requested.pop(0)])
        if not eof or outgoing:
            wait = min(deadline, got.step_deadline or deadline, next_quota) - now
            ready, writable, _ = select.select([] if eof else [r], [calls_w] if outgoing else [], [],
                                              max(0.0, min(wait, 0.5)))
            if writable:
                try:
                    del outgoing[: os.write(calls_w, outgoing[: 1 << 16])]
                except BlockingIOError:
                    pass
                except OSError:  # the child closed its end: it will not ask again
                    outgoing.clear()
            if ready:
                chunk = os.read(r, 1 << 16)
                if not chunk:
                    eof = True
                    continue
                total += len(chunk)
                values += count_values(chunk)
                if total > MAX_PROGRESS_BYTES or values > MAX_VALUES:
                    too_big = True
                    break
                pending += chunk
                while (end := pending.find(b"\n")) >= 0:
                    got.feed(bytes(pending[:end]))
                    del pending[: end + 1]
                if len(got.bad) > MAX_BAD_LINES:
                    break
                continue
            if writable:
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
    if not timed_out and not too_big and stopped is None:  # drain what the child wrote before it ended
        while select.select([r], [], [], 0)[0]:
            chunk = os.read(r, 1 << 16)
            if not chunk or total + len(chunk) > MAX_PROGRESS_BYTES:
                break
            total += len(chunk)
            pending += chunk
            while (end := pending.find(b"\n")) >= 0:
                got.feed(bytes(pending[:end]))
                del pending[: end + 1]
    output = _read_output(scope.out_fd, limits.output_bytes)
    return compose(got, limits, status_word, rusage, timed_out, too_big, output, time.monotonic() - start,
                   stopped)


def compose(got: Collected, limits: Limits, status_word: int, rusage: Any, timed_out: bool,
            too_big: bool, output: str, wall: float, stopped: tuple[str, str] | None = None) -> RunResult:
    """The job's result from what was collected and how the child ended."""
    where = f" while running {got.current}" if got.current else ""
    cpu_used = (rusage.ru_utime + rusage.ru_stime) if rusage is not None else 0.0
    status, message = "ok", ""
    if got.bad:
        status, message = "protocol", f"the job's process sent a message the grader does not accept ({got.bad[0]})"
    elif timed_out:
        status, message = "timeout", f"stopped after {limits.timeout_s:g} s (wall-clock limit){where}"
    elif stopped is not None:
        status, message = stopped[0], stopped[1] + where
    elif too_big:
        status, message = "crashed", (f"stopped: sent more than {MAX_PROGRESS_BYTES // 2**20} MB or {MAX_VALUES:,} "
                                      f"values of results{where}")
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
