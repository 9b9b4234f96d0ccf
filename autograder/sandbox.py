"""Run student code in isolated, resource-limited child processes.

The grading process (the master) never imports TensorFlow. A `Sandbox` starts
one warm parent per worker (`python -m autograder.zygote`), which imports
numpy, TensorFlow and Keras once and then forks one child per job: a fork
costs a fraction of a second where a fresh TensorFlow import costs seconds.
The child runs the job under a wall-clock timeout, a memory cap, a CPU cap, a
file size cap and an audit hook (no processes, no network, no writes outside
its own temporary directory, no reads under the job's `deny_paths`), and
streams plain JSON back. The audit hook is a guard rail against accidents and
casual tampering, not a security boundary: grade untrusted code inside a
container or VM as well.

Example:

```python
with Sandbox(Limits(timeout_s=10)) as box:
    result = box.run({"setup": ["import numpy as np"],
                      "cells": [{"exercise": "add", "code": "def add(a, b):\\n    return a + b"}],
                      "calls": [{"function": "add", "args": [1, 2]}],
                      "seed": 0, "deny_paths": ["/srv/solutions"]})
    result["status"], result["cells"]["add"], result["calls"][0]
```
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Queue
from typing import Callable

PROBE = "autograder.probes:run_call"
STATUSES = ("ok", "timeout", "memory", "cpu", "crashed", "exited")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_STARTUP_TIMEOUT_S = 300.0
_REPLY_GRACE_S = 30.0


@dataclass
class Limits:
    """Resource limits for one submission.

    Args:
        timeout_s: wall-clock seconds per submission (the child's process group is killed after).
        memory_mb: address space the child may add beyond the warm parent's, in MB.
        cpu_s: CPU seconds (RLIMIT_CPU) per submission.
        output_bytes: captured stdout+stderr kept per submission; the rest is dropped (and noted).
    """

    timeout_s: float = 30.0
    memory_mb: int = 2048
    cpu_s: int = 60
    output_bytes: int = 64_000


class SandboxError(RuntimeError):
    """The warm parent could not be started."""


class _Zygote:
    """One warm parent process and the pipes to it."""

    def __init__(self, config: dict, env: dict) -> None:
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=env, start_new_session=True, close_fds=True,
        )
        self._buf = b""
        self.ready: dict | None = None
        self.child_pid: int | None = None
        self.job_dir: str | None = None

    def log_tail(self, n: int = 2000) -> str:
        try:
            self._log.seek(0)
            return self._log.read().decode("utf-8", "replace")[-n:]
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def read_msg(self, deadline: float) -> dict | None:
        """Next JSON line from the zygote; None on end of file or when the deadline passes."""
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self) -> dict:
        if self.ready is None:
            msg = self.read_msg(time.monotonic() + _STARTUP_TIMEOUT_S)
            if msg is None or msg.get("kind") != "ready":
                self.kill()
                raise SandboxError(f"the sandbox's warm process did not start:\n{self.log_tail()}")
            self.ready = msg
        return self.ready

    def send(self, msg: dict) -> None:
        self.proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8"))  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def kill_child(self) -> None:
        if self.child_pid:
            for fn in (os.killpg, os.kill):
                try:
                    fn(self.child_pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.child_pid = None

    def kill(self) -> None:
        self.kill_child()
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        self.proc.wait()
        self._close_files()

    def close(self) -> None:
        self.kill_child()
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._close_files()

    def _close_files(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout, self._log):
            try:
                f.close()  # type: ignore[union-attr]
            except (OSError, AttributeError):
                pass


def _crashed(job: dict, message: str, wall: float) -> dict:
    cells = {str(c.get("exercise", "")): {"ok": False, "error": f"not run: {message}"}
             for c in job.get("cells") or []}
    return {"status": "crashed", "message": message, "cells": cells,
            "calls": [None] * len(job.get("calls") or []), "output": "", "wall_s": round(wall, 4)}


class Sandbox:
    """A pool of warm parents that run jobs in forked, limited children.

    Args:
        limits: the resource limits applied to every job.
        workers: how many jobs run at once (one warm parent each).
        preload: modules the warm parents import before forking (no TensorFlow op is run).
        probe: "module:function" called in the child as `function(namespace, call)` for each call.
        extra_sys_path: folders put on the children's `sys.path` (via PYTHONPATH).

    A job is `{"setup": [code], "cells": [{"exercise", "code"}], "calls": [dict],
    "seed": int, "deny_paths": [path]}`; `run` returns `{"status", "message", "cells",
    "calls", "output", "wall_s"}` (see `autograder.zygote` for the details).
    """

    def __init__(self, limits: Limits = Limits(), workers: int = 1,
                 preload: tuple[str, ...] = ("numpy", "tensorflow", "keras"),
                 probe: str = PROBE, extra_sys_path: tuple[str, ...] | list[str] = ()) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.limits = limits
        self.workers = int(workers)
        self._config = {"limits": asdict(limits), "preload": list(preload), "probe": probe}
        env = dict(os.environ)
        paths = [_PACKAGE_ROOT, *map(str, extra_sys_path)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env.update({
            "PYTHONPATH": os.pathsep.join(paths),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0",
            "CUDA_VISIBLE_DEVICES": "",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "KERAS_BACKEND": "tensorflow",
            "MPLBACKEND": "Agg",
            "MALLOC_ARENA_MAX": "4",
        })
        self._env = env
        self._lock = threading.Lock()
        self._closed = False
        self._zygotes: list[_Zygote] = [self._start() for _ in range(self.workers)]
        self._free: Queue[int] = Queue()
        for i in range(self.workers):
            self._free.put(i)

    def _start(self) -> _Zygote:
        return _Zygote(self._config, self._env)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the warm parents (and any child still running)."""
        with self._lock:
            self._closed = True
            for z in self._zygotes:
                z.close()

    def ready_info(self) -> list[dict]:
        """The warm parents' start-up reports (waits for them to be ready)."""
        return [z.wait_ready() for z in self._zygotes]

    def run(self, job: dict) -> dict:
        """Run one job in a fresh child; returns the result dict."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        slot = self._free.get()
        try:
            return self._run_on(slot, job)
        finally:
            self._free.put(slot)

    def run_many(self, jobs: list[dict], progress: Callable[[int, int], None] | None = None) -> list[dict]:
        """Run jobs `workers` at a time; results come back in the order of `jobs`."""
        results: list[dict | None] = [None] * len(jobs)
        done = [0]
        done_lock = threading.Lock()

        def one(i: int) -> None:
            results[i] = self.run(jobs[i])
            if progress is not None:
                with done_lock:
                    done[0] += 1
                    progress(done[0], len(jobs))

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for future in [pool.submit(one, i) for i in range(len(jobs))]:
                future.result()
        return results  # type: ignore[return-value]

    def _run_on(self, slot: int, job: dict) -> dict:
        start = time.monotonic()
        zygote = self._zygotes[slot]
        if not zygote.alive():  # died earlier: start it again
            zygote.kill()
            zygote = self._zygotes[slot] = self._start()
        zygote.wait_ready()
        try:
            zygote.send({"job": job})
        except (BrokenPipeError, OSError):
            return self._restart(slot, job, start, "the sandbox's warm process had died")
        deadline = start + self.limits.timeout_s + _REPLY_GRACE_S
        while True:
            try:
                msg = zygote.read_msg(deadline)
            except ValueError:
                msg = None
            if msg is None:
                why = ("the sandbox stopped responding" if zygote.alive()
                       else "the sandbox's warm process died")
                return self._restart(slot, job, start, why)
            if msg.get("kind") == "started":
                zygote.child_pid = int(msg["pid"])
                zygote.job_dir = str(msg.get("dir") or "") or None
            elif msg.get("kind") == "result":
                zygote.child_pid = zygote.job_dir = None
                result = msg["result"]
                result["wall_s"] = round(time.monotonic() - start, 4)
                return result

    def _restart(self, slot: int, job: dict, start: float, why: str) -> dict:
        old = self._zygotes[slot]
        tail = old.log_tail(500).strip()
        old.kill()
        if old.job_dir and os.path.basename(old.job_dir).startswith("ag-sandbox-"):
            shutil.rmtree(old.job_dir, ignore_errors=True)  # the dead parent could not clean up
        self._zygotes[slot] = self._start()
        message = f"{why} while running this submission (restarted)"
        if tail:
            message += f": {tail.splitlines()[-1]}"
        return _crashed(job, message, time.monotonic() - start)
