"""The run step: guarded children forked from warm templates.

By process: `pool` (the grading process), `template` (warm, never holds a job),
`supervisor` (one job), `guard` and `runner` (the job's child), `probes/` (how
each case is called inside the job: the built-in probes and the lessons' own,
named by import path). Shared:
`protocol` (messages), `plain` (values as plain data), `outcome` (what a job produced), `strict` (checks of
data from another process), `job`, `limits`, `uids`, `scratch` (bounded
measuring and removal of scratch folders); kernel bindings: `landlock`,
`seccomp`, `cgroup`, `mounts` (namespaces and the tmpfs scratch).
"""

from autograder.run.guard import Isolation
from autograder.run.job import Cell, Job
from autograder.run.limits import Limits
from autograder.run.pool import Sandbox, SandboxError
from autograder.run.protocol import CallResult, ErrorInfo, RunResult, StepResult

__all__ = ["CallResult", "Cell", "ErrorInfo", "Isolation", "Job", "Limits", "RunResult", "Sandbox", "SandboxError",
           "StepResult"]
