"""One job's place on disk and in the kernel, made by its supervisor before the job's child exists.

Runs in the supervisor: the job's folder (its scratch folder `work`, owned by
the job's uid, and the output file), its cgroup where the plan has one, the
scratch quota where no tmpfs enforces it, and the bounded removal of all of
it after the job (`autograder.run.scratch`), which never raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from autograder.run import cgroup, guard, scratch
from autograder.run.limits import Limits


@dataclass
class Scope:
    """One job's folders, output file and cgroup, made by the supervisor before the child exists."""

    root: str
    work: str
    out_fd: int
    group: cgroup.JobCgroup | None = None

    @classmethod
    def make(cls, plan: guard.Plan, limits: Limits, slot_dir: str) -> "Scope":
        root = os.path.join(slot_dir, f"job-{os.getpid()}")
        os.mkdir(root, 0o700)
        work = os.path.join(root, "work")
        os.mkdir(work, 0o700)
        if plan.uid is not None:
            os.chown(work, plan.uid, plan.uid)
            os.chmod(root, 0o711)
        out_fd = os.open(os.path.join(root, "output.txt"), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        scope = cls(root, work, out_fd)
        if plan.cgroup is not None:  # promised by the template's probe: a job never runs without it
            scope.group = cgroup.JobCgroup(plan.cgroup, cgroup.job_name(os.getppid(), os.getpid()),
                                           int(limits.memory_mb) * 2**20)
        return scope

    def close(self) -> None:
        """Removes the cgroup and the folders, within a bound; never raises (what is left is logged)."""
        try:
            os.close(self.out_fd)
        except OSError:
            pass
        if self.group is not None:
            try:
                self.group.remove()
            except Exception:  # noqa: BLE001 - a cgroup left behind must not cost the result
                scratch.log.warning("cgroup of %s not removed", self.root)
        scratch.remove(self.root)


def over_quota(work: str, limits: Limits) -> str:
    """Why the scratch folder is past its quota ("" when it is not): the fallback where no tmpfs caps it."""
    used = scratch.usage(work, limits.scratch_files)
    if used.bytes > limits.scratch_mb * 2**20 or not used.complete:
        return (f"stopped: its scratch folder went past the quota of {limits.scratch_mb} MB and "
                f"{limits.scratch_files} files and folders")
    return ""
