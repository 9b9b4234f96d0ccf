"""The master's side: a pool of warm templates that run jobs in guarded children.

The grading process never imports TensorFlow and never runs student code. A
`Sandbox` starts one template per worker (`python -m autograder.run.template`)
and, per job, walks the protocol in `autograder.run.protocol`: spawn a
supervisor, send the job, wait for the child to exist, send the per-job token,
read the result and check its token. Anything off - a malformed or unexpected
message, a wrong token, silence past the deadline, a dead template - kills
that template's process group (a pid the master got from `Popen`, never from
a message), starts a fresh one, and costs only that job.

Example:

```python
with Sandbox(Limits(timeout_s=10)) as box:
    print(box.isolation().describe())
    result = box.run({"setup": ["import numpy as np"],
                      "cells": [{"exercise": "add", "code": "def add(a, b):\\n    return a + b"}],
                      "calls": [{"exercise": "add", "function": "add", "args": [1, 2]}]})
    result.status, result.cells["add"], result.calls[0]
```
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import functools
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from queue import Queue
from typing import Callable

from autograder.run.guard import Isolation
from autograder.run import cgroup, scratch, uids
from autograder.run.job import Job
from autograder.run.limits import Limits
from autograder.run.protocol import (
    ErrorInfo, Finished, Forked, JobRequest, LineReader, Message, ProtocolError, Ready, RunResult, Spawn, Spawned,
    StepResult, Token, decode, encode,
)

PROBE = "autograder.run.probes.call:run_call"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
STARTUP_TIMEOUT_S = 300.0
REPLY_GRACE_S = 30.0
HANDSHAKE_S = 30.0
ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "LD_LIBRARY_PATH",
               "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS")
"""The only variables of the grader's environment that reach the templates (and so the jobs)."""


@functools.lru_cache(maxsize=1)
def _cgroup_parent() -> cgroup.Parent | None:
    return cgroup.find()[0]


class SandboxError(RuntimeError):
    """The warm template could not be started."""


class _Template:
    """One warm template process, its pipes and its scratch folder."""

    MODULE = "autograder.run.template"

    def __init__(self, config: dict, env: dict) -> None:
        self.slot_dir = tempfile.mkdtemp(prefix="slot-", dir=config["scratch_root"])
        os.chmod(self.slot_dir, 0o711)
        config = {**config, "slot_dir": self.slot_dir}
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.MODULE, json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=env, start_new_session=True, close_fds=True, cwd=config["scratch_root"],
        )
        self.reader = LineReader(self.proc.stdout.fileno())  # type: ignore[union-attr]
        self.ready: Ready | None = None

    def log_tail(self, n: int = 2000) -> str:
        try:
            self._log.seek(0)
            return self._log.read().decode("utf-8", "replace")[-n:]
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def expect(self, kinds: tuple[type[Message], ...], deadline: float) -> Message | None:
        """The next message, which must be of one of `kinds`; None on silence or end of file."""
        line = self.reader.read_line(deadline)
        return None if line is None else decode(line, kinds)

    def wait_ready(self) -> Ready:
        if self.ready is None:
            try:
                msg = self.expect((Ready,), time.monotonic() + STARTUP_TIMEOUT_S)
            except ProtocolError as exc:
                msg, why = None, str(exc)
            else:
                why = ""
            if not isinstance(msg, Ready):
                self.kill()
                raise SandboxError(f"the sandbox's warm process did not start{': ' + why if why else ''}:\n"
                                   f"{self.log_tail()}")
            self.ready = msg
        return self.ready

    def send(self, msg: Message) -> None:
        self.proc.stdin.write(encode(msg))  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def kill(self) -> None:
        """Kills the template with every supervisor and job child in its process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        parent = _cgroup_parent()
        if parent is not None:  # job cgroups of supervisors that died with the template
            for left in cgroup.sweep(parent, self.proc.pid):
                scratch.log.warning("cgroup %s left behind", left)
        self._close_files()

    def close(self) -> None:
        """Ends the template at once: it holds nothing worth a graceful exit (TensorFlow's takes seconds)."""
        self.kill()

    def _close_files(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout, self._log):
            try:
                f.close()  # type: ignore[union-attr]
            except (OSError, AttributeError):
                pass
        scratch.remove(self.slot_dir)


def stopped(job: Job, status: str, message: str, wall: float) -> RunResult:
    """The result of a job that produced nothing usable."""
    cells = {c.exercise: StepResult(False, ErrorInfo("NotRun", f"not run: {message}")) for c in job.cells}
    return RunResult(status, message, cells, [None] * len(job.calls), "", round(wall, 4))


class Sandbox:
    """A pool of warm templates that run jobs in forked, guarded children.

    Args:
        limits: the resource limits applied to every job.
        workers: how many jobs run at once (one template each).
        preload: modules the templates import before forking (no TensorFlow op is run).
        probe: "module:function" called in the child as `function(namespace, call)` for each call.
        extra_sys_path: folders put on the children's `sys.path` (and made readable to them).
        deny_paths: folders no job may read, even inside a readable tree.
        env: variables for the templates beyond `ENV_ALLOWED` (nothing else of
            the grader's environment reaches a job).
    """

    def __init__(self, limits: Limits = Limits(), workers: int = 1,
                 preload: tuple[str, ...] = ("numpy", "tensorflow", "keras"),
                 probe: str = PROBE, extra_sys_path: tuple[str, ...] | list[str] = (),
                 deny_paths: tuple[str, ...] | list[str] = (), env: dict[str, str] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.limits = limits
        self.workers = int(workers)
        scratch.sweep()  # what earlier sandboxes could not remove in time
        self.scratch_root = tempfile.mkdtemp(prefix=scratch.sandbox_prefix())
        os.chmod(self.scratch_root, 0o711)
        self._config = {"limits": asdict(limits), "preload": list(preload), "probe": probe,
                        "scratch_root": self.scratch_root, "extra_read": [str(p) for p in extra_sys_path],
                        "deny": [str(Path(p).resolve()) for p in deny_paths]}
        env = {**{k: os.environ[k] for k in ENV_ALLOWED if k in os.environ}, **(env or {})}
        paths = [PACKAGE_ROOT, *map(str, extra_sys_path)]
        if os.environ.get("PYTHONPATH"):
            paths.append(os.environ["PYTHONPATH"])
        env.update({
            "HOME": self.scratch_root, "TMPDIR": self.scratch_root,
            "PYTHONPATH": os.pathsep.join(paths), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0",
            "CUDA_VISIBLE_DEVICES": "", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
            "KERAS_BACKEND": "tensorflow", "MPLBACKEND": "Agg", "MALLOC_ARENA_MAX": "4",
        })
        self._env = env
        self._lock = threading.Lock()
        self._closed = False
        self._uid_lock: int | None = None
        base = 0
        if os.geteuid() == 0:
            self._uid_lock, base = uids.claim_block()
        self._uids = [base + i for i in range(self.workers)]
        self._templates: list[_Template] = [self._start(i) for i in range(self.workers)]
        self._free: Queue[int] = Queue()
        for i in range(self.workers):
            self._free.put(i)

    def _start(self, slot: int) -> _Template:
        return _Template({**self._config, "uid": self._uids[slot]}, self._env)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the templates (and any job still running) and removes the scratch folders."""
        with self._lock:
            self._closed = True
            for t in self._templates:
                t.close()
            scratch.remove(self.scratch_root, scratch.CLOSE_BUDGET_S)
            if self._uid_lock is not None:
                os.close(self._uid_lock)
                self._uid_lock = None

    def ready_info(self) -> list[Ready]:
        """The templates' start-up reports (waits for them to be ready)."""
        return [t.wait_ready() for t in self._templates]

    def isolation(self) -> Isolation:
        """The isolation in force around every job (the weakest template's)."""
        reports = [Isolation.from_dict(r.isolation) for r in self.ready_info()]
        return min(reports, key=lambda i: (i.complete, -len(i.missing)))

    def run(self, job: Job | dict) -> RunResult:
        """Runs one job in a fresh child; returns its result."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        job = job if isinstance(job, Job) else Job.from_dict(job)
        slot = self._free.get()
        try:
            return self._run_on(slot, job)
        finally:
            self._free.put(slot)

    def run_many(self, jobs: list[Job | dict], progress: Callable[[int, int], None] | None = None,
                 on_result: Callable[[int, RunResult], None] | None = None,
                 labels: list[str] | None = None) -> list[RunResult]:
        """Runs jobs `workers` at a time; results come back in the order of `jobs`.

        The interface `autograder.grading.cluster.GradingCluster.run_many` shares, so that
        the grader runs a class through either.

        Args:
            progress: called with (done, total) as jobs finish.
            on_result: called with (index, result) as each job finishes (from a worker thread).
            labels: a name per job; unused here (a cluster names its tasks with them).
        """
        results: list[RunResult | None] = [None] * len(jobs)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self.run, job): i for i, job in enumerate(jobs)}
            for done, future in enumerate(as_completed(futures), 1):
                i = futures[future]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])  # type: ignore[arg-type]
                if progress is not None:
                    progress(done, len(jobs))
        return results  # type: ignore[return-value]

    def _run_on(self, slot: int, job: Job) -> RunResult:
        start = time.monotonic()
        template = self._templates[slot]
        if not template.alive():
            template.kill()
            template = self._templates[slot] = self._start(slot)
        template.wait_ready()
        secret = secrets.token_hex(16)
        try:
            template.send(Spawn())
            step = "spawning"
            if not isinstance(template.expect((Spawned,), time.monotonic() + HANDSHAKE_S), Spawned):
                return self._restart(slot, job, start, "the sandbox's warm process stopped responding", "crashed")
            template.send(JobRequest(job.to_dict()))
            step = "starting the job"
            if not isinstance(template.expect((Forked,), time.monotonic() + HANDSHAKE_S), Forked):
                return self._restart(slot, job, start, "the job's process could not be started", "crashed")
            template.send(Token(secret))
            step = "running"
            msg = template.expect((Finished,), start + self.limits.timeout_s + REPLY_GRACE_S)
        except ProtocolError as exc:
            return self._restart(slot, job, start, f"a message broke the protocol while {step} ({exc})", "protocol")
        except (BrokenPipeError, OSError) as exc:
            return self._restart(slot, job, start, f"the sandbox's warm process died ({exc})", "crashed")
        if not isinstance(msg, Finished):
            why = "the sandbox stopped responding" if template.alive() else "the sandbox's warm process died"
            return self._restart(slot, job, start, why, "crashed")
        if not hmac.compare_digest(msg.secret, secret):
            return self._restart(slot, job, start, "a result came without this job's token", "protocol")
        if template.reader.pending():
            return self._restart(slot, job, start, "more data came after the result", "protocol")
        r = msg.result
        if len(r.calls) != len(job.calls) or set(r.cells) - {c.exercise for c in job.cells}:
            return self._restart(slot, job, start, "the result does not match the job", "protocol")
        return RunResult(r.status, r.message, r.cells, r.calls, r.output, round(time.monotonic() - start, 4))

    def _restart(self, slot: int, job: Job, start: float, why: str, status: str) -> RunResult:
        old = self._templates[slot]
        tail = old.log_tail(500).strip()
        old.kill()
        self._templates[slot] = self._start(slot)
        message = f"{why} while running this submission (restarted)"
        if tail and status != "protocol":
            message += f": {tail.splitlines()[-1]}"
        return stopped(job, status, message, time.monotonic() - start)
