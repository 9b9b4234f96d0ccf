"""Each step's time limits, scaled from the reference's times (grading process).

A graded cell or check of a submission may take `factor` times what the reference took, and at least a floor,
in wall-clock time and, for a check, separately in CPU time. The CPU limit is the tight one: another job's load barely
changes a step's CPU time, so an infinite loop is stopped after a fraction of a second on a busy machine as on
a quiet one. The wall-clock limit stays generous (a busy machine slows every step) and catches code that waits
(a sleep, a blocked read), which spends no CPU time.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.run import Cell, Job

Times = dict[tuple[str, str], float]
"""A step's time by `(exercise, case)`; `(exercise, "")` is its graded cell."""


@dataclass(frozen=True)
class StepLimits:
    """How one submission's steps are limited.

    Attributes:
        wall: the reference's step times as this machine takes them now (`ReferenceRun.scaled_seconds`).
        cpu: the same scaled by CPU speed alone (`ReferenceRun.scaled_seconds(cpu=True)`); None: `wall`.
        factor, floor_s: wall-clock limit = max(floor_s, factor * wall time).
        cpu_factor, cpu_floor_s: CPU limit = max(cpu_floor_s, cpu_factor * CPU time), each at most its
            wall-clock twin (None: the same as it).
    """

    wall: Times
    cpu: Times | None
    factor: float
    floor_s: float
    cpu_factor: float | None = None
    cpu_floor_s: float | None = None

    def at_least(self, floor_s: float) -> "StepLimits":
        """These limits with both floors raised to `floor_s` and the CPU factor to the wall-clock one (tracing
        a compiled function costs seconds of computing, whatever the reference's eager time)."""
        floor = max(self.floor_s, floor_s)
        return StepLimits(self.wall, self.cpu, self.factor, floor, self.factor, floor)

    def of(self, key: tuple[str, str]) -> tuple[float, float]:
        """`(wall-clock, CPU)` seconds for the step `key`."""
        wall = max(self.floor_s, self.factor * self.wall.get(key, 0.0))
        factor = self.factor if self.cpu_factor is None else min(self.cpu_factor, self.factor)
        floor = self.floor_s if self.cpu_floor_s is None else min(self.cpu_floor_s, self.floor_s)
        times = self.wall if self.cpu is None else self.cpu
        cpu = min(wall, max(floor, factor * times.get(key, 0.0)))
        return round(wall, 3), round(cpu, 3)

    def apply(self, job: Job) -> Job:
        """`job` with `time_limit_s` and `cpu_limit_s` on each call, and `time_limit_s` on each cell.

        A graded cell's top level keeps the wall-clock limit alone: it may build something once (a table, a
        file of its own), which its reference cell, defining functions, never timed; an infinite loop is
        almost always in a function, which each case calls.
        """
        cells = [Cell(c.exercise, c.code, self.of((c.exercise, ""))[0]) for c in job.cells]
        calls = [dict(call, **dict(zip(("time_limit_s", "cpu_limit_s"), self.of((call["exercise"], call["case"])))))
                 for call in job.calls]
        return Job(job.setup, cells, calls, job.seed, job.deny_paths)
