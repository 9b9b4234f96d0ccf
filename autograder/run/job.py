"""What one job is: the code to run in a fresh child and the calls to make."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One graded cell: the student's code for one exercise."""

    exercise: str
    code: str
    time_limit_s: float | None = None
    cpu_limit_s: float | None = None


@dataclass(frozen=True)
class Job:
    """One run in one fresh, guarded child.

    Args:
        setup: the grader's own code, run first (imports).
        cells: graded cells, run in order; each is followed by its calls.
        calls: plain call descriptions for the probe (see `autograder.authoring.spec.call_spec`),
            each naming its `exercise`; an optional `time_limit_s` (wall-clock) and
            `cpu_limit_s` (CPU time) each.
        seed: seeds Python's, numpy's and TensorFlow's generators.
        deny_paths: folders the job must not read even where they lie inside
            an otherwise readable tree (solutions, the output folder).
    """

    setup: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    deny_paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The plain form (what `from_dict` reads); the calls are the job's own dicts, not copies (`asdict`
        would deep-copy every input array's text, for a dict that is only ever encoded)."""
        return {"setup": list(self.setup), "cells": [asdict(c) for c in self.cells], "calls": list(self.calls),
                "seed": self.seed, "deny_paths": list(self.deny_paths)}

    @classmethod
    def from_dict(cls, data: dict) -> "Job":
        """A job from its plain form (what `to_dict` wrote, or a hand-written dict).

        Raises:
            TypeError: a field has the wrong type.
        """
        if not isinstance(data, dict):
            raise TypeError(f"a job must be a dict; got {type(data).__name__}")
        unknown = set(data) - {"setup", "cells", "calls", "seed", "deny_paths"}
        if unknown:
            raise TypeError(f"a job has no fields {sorted(unknown)}")
        setup = [str(s) for s in data.get("setup") or []]
        cells = []
        for c in data.get("cells") or []:
            if isinstance(c, Cell):
                cells.append(c)
            elif isinstance(c, dict):
                limit, cpu = c.get("time_limit_s"), c.get("cpu_limit_s")
                cells.append(Cell(str(c.get("exercise", "")), str(c.get("code", "")),
                                  None if limit is None else float(limit), None if cpu is None else float(cpu)))
            else:
                raise TypeError(f"a job's cell must be a dict; got {type(c).__name__}")
        calls = list(data.get("calls") or [])
        if not all(isinstance(c, dict) for c in calls):
            raise TypeError("a job's calls must be dicts")
        return cls(setup, cells, calls, int(data.get("seed", 0)), [str(p) for p in data.get("deny_paths") or []])
