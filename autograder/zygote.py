"""The warm parent ("zygote") that forks one child per submission.

Started by `autograder.sandbox.Sandbox` as `python -m autograder.zygote CONFIG`
(CONFIG is a JSON object: limits, preload, probe). It imports the heavy
modules once (numpy, TensorFlow, Keras) but never runs a TensorFlow op, so a
fork is cheap and the child initialises TensorFlow's runtime itself.

Protocol with the master, one JSON object per line:

- zygote -> master: `{"kind": "ready", ...}` once; then per job
  `{"kind": "started", "pid": PID}` and `{"kind": "result", "result": {...}}`.
- master -> zygote: `{"job": {...}}` per job. End of input ends the zygote.

The child streams its progress to the zygote over a pipe, one JSON line per
event (`cell_start`, `cell`, `call_start`, `call`, `done`), so whatever it
finished before dying is kept. Data from the child is only ever parsed as
JSON: a student's code runs there and could write anything to that pipe.
"""
from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

from autograder.child import _child_main, _resolve_probe

MAX_RESULT_BYTES = 256 * 2**20  # progress data kept from one child


# --------------------------------------------------------------- zygote side


class _Collected:
    """What the zygote learned from one child's progress pipe."""

    def __init__(self, job: dict) -> None:
        self.cells_in = list(job.get("cells") or [])
        self.cells: dict[str, dict] = {}
        self.calls: list[dict | None] = [None] * len(job.get("calls") or [])
        self.current: str | None = None
        self.current_cell: str | None = None
        self.setup_error: str | None = None
        self.done = False
        self.garbage = 0

    def feed(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
            kind = msg["kind"]
        except Exception:  # noqa: BLE001 - anything that is not our JSON is ignored
            self.garbage += 1
            return
        try:
            if kind == "cell_start":
                self.current_cell = str(msg["exercise"])
                self.current = f"exercise '{self.current_cell}'"
            elif kind == "cell":
                self.cells[str(msg["exercise"])] = {
                    "ok": bool(msg["ok"]), "error": None if msg["ok"] else str(msg["error"]),
                    "seconds": float(msg.get("seconds") or 0.0)}
                self.current = self.current_cell = None
            elif kind == "call_start":
                self.current = f"check {int(msg['index']) + 1} of {len(self.calls)} (exercise '{msg.get('exercise', '')}')"
                self.current_cell = None
            elif kind == "call":
                i = int(msg["index"])
                if 0 <= i < len(self.calls):
                    ok = bool(msg["ok"])
                    self.calls[i] = {"ok": ok, "value": msg.get("value") if ok else None,
                                     "error": None if ok else str(msg.get("error")),
                                     "seconds": float(msg.get("seconds") or 0.0)}
                self.current = None
            elif kind == "setup_error":
                self.setup_error = str(msg["error"])
            elif kind == "done":
                self.done = True
        except Exception:  # noqa: BLE001
            self.garbage += 1


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _read_output(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    if len(data) > limit:
        text += f"\n[output truncated: only the first {limit} bytes of {max(size, limit + 1)}+ are kept]"
    return text


def _kill_group(pid: int) -> None:
    for fn in (os.killpg, os.kill):
        try:
            fn(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_job(job: dict, limits: dict, probe: str, send) -> dict:
    """Fork one child for `job`, watch it, and return the result dict."""
    timeout = float(limits["timeout_s"])
    root = tempfile.mkdtemp(prefix="ag-sandbox-")
    work = os.path.join(root, "work")
    os.mkdir(work, 0o700)
    out_path = os.path.join(root, "output.txt")
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            for fd in _PROTOCOL_FDS:
                os.close(fd)
            _child_main(job, limits, probe, work, out_fd, w)
        except BaseException:  # noqa: BLE001
            code = 70
            try:
                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(code)

    os.close(w)
    os.close(out_fd)
    send({"kind": "started", "pid": pid, "dir": root})
    got = _Collected(job)
    deadline = start + timeout
    pending: list[bytes] = []
    total = 0
    timed_out = too_big = False
    status_word = None
    rusage = None
    eof_at = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        if eof_at is None:
            ready, _, _ = select.select([r], [], [], min(deadline - now, 1.0))
            if ready:
                chunk = os.read(r, 1 << 16)
                if not chunk:
                    eof_at = now
                    continue
                total += len(chunk)
                if total > MAX_RESULT_BYTES:
                    too_big = True
                    break
                if b"\n" not in chunk:
                    pending.append(chunk)
                    continue
                pending.append(chunk)
                *lines, rest = b"".join(pending).split(b"\n")
                pending = [rest]
                for line in lines:
                    got.feed(line)
            else:  # nothing to read: has it exited without closing the pipe (a grandchild holds it)?
                pid_done, status, ru = os.wait4(pid, os.WNOHANG)
                if pid_done:
                    status_word, rusage = status, ru
                    eof_at = now
        if eof_at is not None and status_word is None:
            pid_done, status, ru = os.wait4(pid, os.WNOHANG)
            if pid_done:
                status_word, rusage = status, ru
            else:
                time.sleep(0.005)
                continue
        if status_word is not None:
            break
    _kill_group(pid)
    if status_word is None:
        _, status_word, rusage = os.wait4(pid, 0)
    os.close(r)
    wall = time.monotonic() - start
    output = _read_output(out_path, int(limits["output_bytes"]))
    shutil.rmtree(root, ignore_errors=True)
    return _compose(got, limits, status_word, rusage, timed_out, too_big, output, wall)


def _compose(got: _Collected, limits: dict, status_word: int, rusage: Any, timed_out: bool,
             too_big: bool, output: str, wall: float) -> dict:
    where = f" while running {got.current}" if got.current else ""
    cpu_used = (rusage.ru_utime + rusage.ru_stime) if rusage is not None else 0.0
    status, message = "ok", ""
    if timed_out:
        status, message = "timeout", f"stopped after {limits['timeout_s']:g} s (wall-clock limit){where}"
    elif too_big:
        status, message = "crashed", f"stopped: sent more than {MAX_RESULT_BYTES // 2**20} MB of results{where}"
    elif os.WIFSIGNALED(status_word):
        sig = os.WTERMSIG(status_word)
        grew_mb = max(0.0, rusage.ru_maxrss / 1024 - _BASE_RSS_MB) if rusage is not None else 0.0
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_used >= limits["cpu_s"] - 0.5):
            status, message = "cpu", f"stopped after {cpu_used:.0f} s of CPU time (CPU limit {limits['cpu_s']} s){where}"
        elif grew_mb >= 0.9 * limits["memory_mb"] or sig == signal.SIGKILL:
            status, message = "memory", (
                f"stopped by {_signal_name(sig)} after using about {grew_mb:.0f} MB "
                f"(memory limit {limits['memory_mb']} MB){where}")
        else:
            status, message = "crashed", f"the process crashed ({_signal_name(sig)}){where}"
    elif got.setup_error is not None:
        status, message = "crashed", f"the grader's setup code failed: {got.setup_error}"
    elif not got.done:
        code = os.WEXITSTATUS(status_word)
        status, message = "exited", f"the process ended itself (exit code {code}){where}"
    if got.garbage:
        message = (message + "; " if message else "") + f"{got.garbage} unreadable progress line(s) ignored"
        if status == "ok":
            status = "crashed"

    cells: dict[str, dict] = {}
    for cell in got.cells_in:
        exercise = str(cell.get("exercise", ""))
        if exercise in got.cells:
            cells[exercise] = got.cells[exercise]
        elif exercise == got.current_cell:
            cells[exercise] = {"ok": False, "error": message}
        elif exercise not in cells:
            cells[exercise] = {"ok": False, "error": f"not run: {message}" if message else "not run"}
    return {"status": status, "message": message, "cells": cells, "calls": got.calls,
            "output": output, "wall_s": round(wall, 4)}


# ------------------------------------------------------------------ main loop

_PROTOCOL_FDS: list[int] = []
_BASE_RSS_MB = 0.0


def main(argv: list[str]) -> int:
    global _BASE_RSS_MB
    config = json.loads(argv[1])
    limits = config["limits"]
    probe = config.get("probe", "autograder.probes:run_call")
    # Keep the protocol on private fds; 0 and 1 become harmless for stray prints.
    proto_in, proto_out = os.dup(0), os.dup(1)
    _PROTOCOL_FDS[:] = [proto_in, proto_out]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    out = os.fdopen(proto_out, "wb", buffering=0)

    def send(msg: dict) -> None:
        out.write((json.dumps(msg) + "\n").encode("utf-8"))

    t0 = time.monotonic()
    import importlib

    failed = {}
    for name in config.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            failed[name] = f"{type(exc).__name__}: {exc}"
    if config.get("calls_probe_preload", True):
        try:
            _resolve_probe(probe)
        except Exception:  # noqa: BLE001 - reported per call in the child
            pass
    import resource

    _BASE_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tf_started = False
    ctx_mod = sys.modules.get("tensorflow.python.eager.context")
    if ctx_mod is not None:
        try:
            tf_started = ctx_mod.context()._context_handle is not None
        except Exception:  # noqa: BLE001
            pass
    send({"kind": "ready", "pid": os.getpid(), "import_s": round(time.monotonic() - t0, 3),
          "preload_failed": failed, "tf_context_started": tf_started})

    stdin = os.fdopen(proto_in, "rb", buffering=0)
    reader = io.BufferedReader(stdin)  # type: ignore[arg-type]
    while True:
        line = reader.readline()
        if not line:
            return 0
        try:
            job = json.loads(line)["job"]
        except Exception as exc:  # noqa: BLE001
            send({"kind": "result", "result": {"status": "crashed", "message": f"bad job: {exc}", "cells": {},
                                                "calls": [], "output": "", "wall_s": 0.0}})
            continue
        result = run_job(job, limits, probe, send)
        send({"kind": "result", "result": result})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
