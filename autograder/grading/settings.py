"""How a class is graded: the settings every grading entry point shares (grading process).

Kept apart from the pipeline so that reading the settings imports nothing
heavy: the CLI can start the sandbox's warm-up before the pipeline (and the
notebook libraries it needs) is imported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.run.limits import Limits


@dataclass
class GradeConfig:
    """How a class is graded.

    Attributes:
        solutions: folder of reference notebooks (`<id>.ipynb`).
        assignment: grade every submission against this assignment id; by
            default each notebook's metadata, else its graded markers, decide.
        jobs: submissions graded at once (default: the number of cores).
        limits: per-submission wall-clock, memory and CPU limits (for the
            sandbox the grader starts when it is not given one).
        step_factor, step_floor_s: each graded cell and each check of a
            submission may take `step_factor` times the reference's time, and
            at least `step_floor_s` seconds, of wall-clock time; past that only
            that step fails (and the rest of its exercise is skipped), so one
            infinite loop costs its own exercise, not the whole submission's
            time limit.
        step_cpu_factor, step_cpu_floor_s: the same in CPU time, for each
            check (each at most its wall-clock twin; a cell's top level, which
            may build something once, has the wall-clock limit alone). Another
            job's load barely changes a step's CPU time, so these can be tight
            and an infinite loop costs a fraction of a second; the wall-clock
            limit catches code that waits.
        root, roster: how each file's gradebook key (the student) is found;
            see `autograder.grading.submissions` (default: from the class's folder layout).
    """

    solutions: Path = Path("solutions")
    assignment: str | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    step_factor: float = 20.0
    step_floor_s: float = 1.0
    step_cpu_factor: float = 10.0
    step_cpu_floor_s: float = 0.3
    root: Path | None = None
    roster: Path | None = None


UNUSED_IMPORTS = ("rfc3987_syntax",)
"""Modules a grading process never needs: where `rfc3987_syntax` is installed, jsonschema (which nbformat
imports) builds an IRI grammar with it at import, 0.7-1.4 s of CPU beside the templates' TensorFlow imports,
for a format check no notebook uses."""


def skip_unused_imports() -> None:
    """Marks `UNUSED_IMPORTS` as absent in this process (call it in an entry point, before nbformat loads)."""
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type] - None: `import` raises ImportError
