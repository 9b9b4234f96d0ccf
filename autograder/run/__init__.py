"""The run step: guarded children forked from warm templates (see `pool`, `template`,
`supervisor`, `guard`, `runner`, `protocol`)."""

from autograder.run.guard import Isolation
from autograder.run.job import Cell, Job
from autograder.run.limits import Limits
from autograder.run.pool import Sandbox, SandboxError
from autograder.run.protocol import CallResult, ErrorInfo, RunResult, StepResult

__all__ = ["CallResult", "Cell", "ErrorInfo", "Isolation", "Job", "Limits", "RunResult", "Sandbox", "SandboxError",
           "StepResult"]
