"""A memory and process-count cgroup per job, where the machine lets the grader make one.

The supervisor (root, or a user delegated a cgroup) makes a child cgroup of
its own for each job with `JobCgroup.create`, and the job's child joins it
(`join`) before any student code runs. The kernel then charges the job for
everything it touches - heap, threads' stacks, tmpfs files, shared memory -
and stops it (the OOM killer's SIGKILL) at one limit for the whole job; the
pids controller caps its threads. `remove` kills whatever is left in the
cgroup and removes it. cgroup v2 (a `memory` controller delegated to the
grader's own cgroup) is preferred, then v1 (`memory` and `pids` hierarchies).
Where neither can be written, `find` says why and the job keeps its rlimits.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

PIDS_MAX = 1024


@dataclass(frozen=True)
class Parent:
    """Where job cgroups are made: a folder per controller, and the cgroup version."""

    version: int
    memory: str
    pids: str | None

    def describe(self) -> str:
        return f"cgroup v{self.version} per job"


def _own_paths() -> dict[str, str]:
    """controller ('' for v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    out[c] = path
    except (OSError, ValueError):
        pass
    return out


def _mounts() -> dict[str, str]:
    """'memory', 'pids' (v1) or '' (v2) -> mount point."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _, options = (right.split() + ["", "", ""])[:3]
                point = left.split()[4]
                if fstype == "cgroup2":
                    out.setdefault("", point)
                elif fstype == "cgroup":
                    for c in options.split(","):
                        if c in ("memory", "pids"):
                            out.setdefault(c, point)
    except (OSError, IndexError):
        pass
    return out


def _writable_folder(path: str) -> bool:
    probe = os.path.join(path, f"ag-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        os.rmdir(probe)
    except OSError:
        pass
    return True


def find() -> tuple[Parent | None, str]:
    """`(parent, "")` where job cgroups can be made, else `(None, why not)`."""
    own, mounts = _own_paths(), _mounts()
    if "" in mounts and "" in own:
        base = os.path.join(mounts[""], own[""].lstrip("/"))
        try:
            controllers = open(os.path.join(base, "cgroup.controllers")).read().split()
        except OSError:
            controllers = []
        if "memory" in controllers and _writable_folder(base):
            sub = os.path.join(base, "cgroup.subtree_control")
            try:
                with open(sub, "w") as f:
                    f.write("+memory" + (" +pids" if "pids" in controllers else ""))
            except OSError:
                pass
            try:
                if "memory" in open(sub).read().split():
                    return Parent(2, base, base if "pids" in controllers else None), ""
            except OSError:
                pass
    if "memory" in mounts and "memory" in own:
        memory = os.path.join(mounts["memory"], own["memory"].lstrip("/"))
        if _writable_folder(memory):
            pids = None
            if "pids" in mounts and "pids" in own:
                candidate = os.path.join(mounts["pids"], own["pids"].lstrip("/"))
                pids = candidate if _writable_folder(candidate) else None
            return Parent(1, memory, pids), ""
        return None, "the memory cgroup is not writable by the grader"
    return None, "no memory cgroup controller is available to the grader"


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


class JobCgroup:
    """One job's cgroup(s): made by the supervisor, joined by the job's child, removed after it."""

    def __init__(self, parent: Parent, name: str, memory_bytes: int) -> None:
        self.parent = parent
        self.folders = [os.path.join(parent.memory, name)]
        if parent.pids and parent.pids != parent.memory:
            self.folders.append(os.path.join(parent.pids, name))
        for folder in self.folders:
            os.mkdir(folder, 0o700)
        memory = self.folders[0]
        if parent.version == 2:
            _write(os.path.join(memory, "memory.max"), str(memory_bytes))
            _try_write(os.path.join(memory, "memory.swap.max"), "0")
            _try_write(os.path.join(memory, "memory.oom.group"), "1")
            if parent.pids:
                _write(os.path.join(memory, "pids.max"), str(PIDS_MAX))
        else:
            _write(os.path.join(memory, "memory.limit_in_bytes"), str(memory_bytes))
            _try_write(os.path.join(memory, "memory.memsw.limit_in_bytes"), str(memory_bytes))
            if len(self.folders) > 1:
                _write(os.path.join(self.folders[1], "pids.max"), str(PIDS_MAX))

    def join(self) -> None:
        """Moves the calling process (the job's child, before it drops root) into the job's cgroups."""
        for folder in self.folders:
            _write(os.path.join(folder, "cgroup.procs"), "0")

    def oom_killed(self) -> bool:
        """Whether the kernel stopped the job at its memory limit."""
        memory = self.folders[0]
        try:
            name = "memory.events" if self.parent.version == 2 else "memory.oom_control"
            events = dict(line.split()[:2] for line in open(os.path.join(memory, name)) if line.strip())
            return int(events.get("oom_kill", 0)) > 0
        except (OSError, ValueError):
            return False

    def remove(self, budget_s: float = 2.0) -> list[str]:
        """Kills what is left in the cgroups and removes them; returns those that could not be removed."""
        deadline = time.monotonic() + budget_s
        left = []
        for folder in self.folders:
            while True:
                for pid in _pids(folder):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        left.append(folder)
                        break
                    time.sleep(0.01)
        return left


def _try_write(path: str, value: str) -> None:
    try:
        _write(path, value)
    except OSError:
        pass


def _pids(folder: str) -> list[int]:
    try:
        return [int(p) for p in open(os.path.join(folder, "cgroup.procs")).read().split()]
    except (OSError, ValueError):
        return []


def job_name(template_pid: int, supervisor_pid: int) -> str:
    """The name of a job's cgroup: `sweep` finds a template's by its pid."""
    return f"ag-{template_pid}-{supervisor_pid}"


def sweep(parent: Parent, template_pid: int) -> list[str]:
    """Removes the job cgroups a (dead) template's supervisors left; returns those that remain."""
    left: list[str] = []
    prefix = f"ag-{template_pid}-"
    for base in {parent.memory, parent.pids} - {None}:
        try:
            names = [n for n in os.listdir(base) if n.startswith(prefix)]
        except OSError:
            continue
        for name in names:
            group = JobCgroup.__new__(JobCgroup)
            group.parent, group.folders = parent, [os.path.join(base, name)]
            left += group.remove(budget_s=1.0)
    return left
