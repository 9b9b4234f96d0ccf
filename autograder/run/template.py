"""The warm template: imports TensorFlow once, then forks one supervisor per job.

Started by `autograder.run.pool.Sandbox` as `python -m autograder.run.template
CONFIG` (a JSON object: limits, preload, probe, slot_dir, uid, deny,
extra_read). It imports the heavy modules but never runs a TensorFlow op, so
a fork is cheap and each child starts TensorFlow's runtime itself. It never
reads a job: for each `Spawn` it forks a supervisor (which talks to the master
over the same pipes) and waits for it to end, so no job's data or result is
ever in the memory a later job inherits.

At start-up it also forks one throwaway child that applies the full guard, to
report the isolation actually in force (`Ready.isolation`).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace

from autograder.run import cgroup, guard, mounts, supervisor
from autograder.run.limits import Limits
from autograder.run.protocol import LineReader, ProtocolError, Ready, Spawn, decode, write_line


WITH_TENSORFLOW = ("autograder.run.probes.graph", "autograder.run.probes.lm", "autograder.run.probes.seq2seq",
                   "tensorflow.python.framework.convert_to_constants")
"""Modules a job may import on its first call (trace and run graphs, the lessons' probes), imported by a template
that preloaded TensorFlow: an import runs no op, and each job would otherwise pay for it."""


def isolation_self_test(plan: guard.Plan, limits: Limits, slot_dir: str) -> dict:
    """Applies the guard in a throwaway child and returns what held (as a dict)."""
    scratch = tempfile.mkdtemp(prefix="probe-", dir=slot_dir)
    if plan.uid is not None:
        os.chown(scratch, plan.uid, plan.uid)
    group = None
    if plan.cgroup is not None:
        try:
            group = cgroup.JobCgroup(plan.cgroup, cgroup.job_name(os.getpid(), 0), int(limits.memory_mb) * 2**20)
        except OSError as exc:
            return {"missing": [f"the job's cgroup could not be made ({exc})"]}
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            if group is not None:
                group.join()
            if plan.tmpfs:
                mounts.enter(scratch, mounts.Scratch(limits.scratch_mb, limits.scratch_files), plan.uid, plan.expose)
            isolation = guard.apply(plan, limits, scratch)
            data = json.dumps(isolation.to_dict()).encode()
            os.write(w, data)
        except BaseException as exc:  # noqa: BLE001
            os.write(w, json.dumps({"missing": [f"the guard failed: {type(exc).__name__}: {exc}"]}).encode())
            code = 1
        os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    if group is not None:
        group.remove()
    os.rmdir(scratch)
    try:
        return json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return {"missing": ["the guard's report could not be read"]}


def with_kernel_layers(plan: guard.Plan, slot_dir: str) -> guard.Plan:
    """The plan with the per-job cgroup and namespaces this machine offers (each tried once, here)."""
    parent, _ = cgroup.find()
    probe_dir = tempfile.mkdtemp(prefix="ns-probe-", dir=slot_dir)
    try:
        tmpfs = mounts.supported(probe_dir) == ""
    finally:
        os.rmdir(probe_dir)
    expose: tuple[str, ...] = ()
    keep = plan.keep_read_search
    if tmpfs and keep:  # bind what the job reads instead of letting it read everything
        expose = tuple(t for trees in mounts.blocked(list(plan.read)).values() for t in trees)
        keep = False
    return replace(plan, cgroup=parent, tmpfs=tmpfs, expose=expose, keep_read_search=keep)


def tf_context_started() -> bool:
    ctx_mod = sys.modules.get("tensorflow.python.eager.context")
    if ctx_mod is None:
        return False
    try:
        return ctx_mod.context()._context_handle is not None
    except Exception:  # noqa: BLE001
        return False


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    limits = Limits(**config["limits"])
    slot_dir = str(config["slot_dir"])
    # The protocol moves to private fds; 0 and 1 become harmless for stray prints.
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    guard.prctl(guard.PR_SET_DUMPABLE, 0)  # no same-uid process may read this memory

    start = time.monotonic()
    failed = {}
    for name in config.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            failed[name] = f"{type(exc).__name__}: {exc}"
    warm = [str(config["probe"]).partition(":")[0]]
    if "tensorflow" in sys.modules:  # what a graph-ruled case's calls need: imported once here, not per job
        warm += list(WITH_TENSORFLOW)
    for module in warm:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - reported per call in the child
            pass
    supervisor.BASE_RSS_MB[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plan = guard.make_plan(tuple(config.get("deny", [])), tuple(config.get("extra_read", [])), config.get("uid"))
    plan = with_kernel_layers(plan, slot_dir)
    isolation = isolation_self_test(plan, limits, slot_dir)
    try:
        plan = replace(plan, strict=guard.Isolation.from_dict(isolation).complete)
    except (ValueError, TypeError):
        pass
    write_line(fd_out, Ready(round(time.monotonic() - start, 3), failed, tf_context_started(), isolation))

    reader = LineReader(fd_in)
    while True:
        try:
            line = reader.read_exact_line()
            if line is None:
                return 0
            decode(line, (Spawn,))
        except ProtocolError as exc:
            print(f"template: {exc}", file=sys.stderr)
            return 3
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            supervisor.main(config, plan, limits, slot_dir, fd_in, fd_out)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
