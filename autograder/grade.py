"""Grading a class: locate, run in the sandbox, compare with the reference, score."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.assign import PUBLIC_DIR, load_assignment
from autograder.judge import STATUS_MESSAGES, judge_exercise
from autograder.notebook import GRADED, NotebookError, first_line, locate, read_notebook
from autograder.results import SubmissionResult
from autograder.sandbox import Limits, Sandbox
from autograder.spec import Assignment, call_spec


class GradingError(RuntimeError):
    """A problem with the assignment itself (not with a submission)."""


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
            submission may take `step_factor` times what the reference took,
            and at least `step_floor_s` seconds; past that only that step
            fails (and the rest of its exercise is skipped), so one infinite
            loop costs its own exercise and about a second, not the whole
            submission's time limit.
    """

    solutions: Path = Path("solutions")
    assignment: str | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    step_factor: float = 20.0
    step_floor_s: float = 1.0


def reference_job(assignment: Assignment) -> dict:
    """The sandbox job that runs the reference solution on every case."""
    return {
        "setup": assignment.setup,
        "cells": [{"exercise": ex.name, "code": assignment.cells[ex.name]} for ex in assignment.exercises],
        "calls": [call_spec(assignment.id, ex, case) for ex in assignment.exercises for case in ex.cases],
        "seed": 0,
        "deny_paths": [],
    }


def run_reference(
    assignment: Assignment, sandbox: Sandbox, seconds: dict[tuple[str, str], float] | None = None
) -> dict[tuple[str, str], dict]:
    """Expected values: `(exercise, case) -> run_call result` from the reference.

    Args:
        seconds: filled, when given, with how long each step took:
            `(exercise, case)` for a check, `(exercise, "")` for a graded cell.

    Raises:
        GradingError: the reference fails a cell or a case (fix the solution).
    """
    job = reference_job(assignment)
    result = sandbox.run(job)
    for name, cell in result["cells"].items():
        if not cell.get("ok"):
            raise GradingError(f"{assignment.id}: the reference cell `{name}` failed: {cell.get('error')}")
        if seconds is not None:
            seconds[(name, "")] = float(cell.get("seconds") or 0.0)
    expected = {}
    for call, outcome in zip(job["calls"], result["calls"]):
        if outcome is None or not outcome.get("ok"):
            why = outcome.get("error") if outcome else result.get("message") or result.get("status")
            raise GradingError(f"{assignment.id}: the reference failed case {call['exercise']}/{call['case']}: {why}")
        expected[(call["exercise"], call["case"])] = outcome["value"]
        if seconds is not None:
            seconds[(call["exercise"], call["case"])] = float(outcome.get("seconds") or 0.0)
    return expected


def with_step_limits(job: dict, seconds: dict[tuple[str, str], float], factor: float, floor_s: float) -> dict:
    """Gives each cell and call of a job its time limit, scaled from the reference's time."""

    def limit(key: tuple[str, str]) -> float:
        return round(max(floor_s, factor * seconds.get(key, 0.0)), 3)

    for cell in job["cells"]:
        cell["time_limit_s"] = limit((cell["exercise"], ""))
    for call in job["calls"]:
        call["time_limit_s"] = limit((call["exercise"], call["case"]))
    return job


def guess_assignment(nb, known: dict[str, Assignment]) -> str | None:
    """The assignment a notebook belongs to: its metadata, else its markers."""
    meta = nb.metadata.get("autograder", {}) if hasattr(nb, "metadata") else {}
    if isinstance(meta, dict) and meta.get("assignment") in known:
        return meta["assignment"]
    markers = {m.group(1) for c in nb.cells if (m := GRADED.match(first_line(c.source)))}
    scores = {aid: len(markers & {e.name for e in a.exercises}) for aid, a in known.items()}
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best] > 0 else None


def submission_job(assignment: Assignment, cells: dict[str, str], deny: list[str]) -> dict:
    """The sandbox job for one submission: the reference's setup, the student's graded cells."""
    job = reference_job(assignment)
    job["cells"] = [{"exercise": n, "code": cells[n]} for n in (e.name for e in assignment.exercises) if n in cells]
    job["deny_paths"] = deny
    return job


class Grader:
    """Grades submissions against reference notebooks, one sandbox for the whole class."""

    def __init__(self, config: GradeConfig, deny_paths: list[str] | None = None) -> None:
        self.config = config
        self.assignments: dict[str, Assignment] = {}
        for path in sorted(Path(config.solutions).glob("*.ipynb")):
            assignment = load_assignment(path)
            self.assignments[assignment.id] = assignment
        if not self.assignments:
            raise GradingError(f"no reference notebooks found in {config.solutions}")
        if config.assignment and config.assignment not in self.assignments:
            raise GradingError(f"unknown assignment {config.assignment!r}; known: {sorted(self.assignments)}")
        self.deny = [str(Path(config.solutions).resolve()), str(PUBLIC_DIR)] + list(deny_paths or [])
        self.expected: dict[str, dict] = {}
        self.seconds: dict[str, dict[tuple[str, str], float]] = {}

    def grade(
        self,
        paths: list[Path],
        sandbox: Sandbox | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[SubmissionResult]:
        """Grades every submission; a broken one never stops the others.

        Args:
            paths: the submitted notebooks.
            sandbox: a warm sandbox to reuse; by default one is started with
                the config's limits and `jobs` workers, and closed after.
            progress: called with (done, total) as submissions finish.
        """
        if sandbox is None:
            with Sandbox(self.config.limits, workers=self.config.jobs) as own:
                return self.grade(paths, own, progress)
        plans, results = [], []
        for path in paths:
            name = path.stem
            try:
                nb = read_notebook(path)
            except NotebookError as exc:
                aid = self.config.assignment or next(iter(self.assignments))
                results.append(self._unreadable(name, aid, str(exc)))
                plans.append(None)
                continue
            aid = self.config.assignment or guess_assignment(nb, self.assignments)
            if aid is None:
                aid = next(iter(self.assignments))
            located = locate(nb, [e.name for e in self.assignments[aid].exercises])
            results.append(SubmissionResult(name, aid))
            plans.append((aid, located))
        for aid in {p[0] for p in plans if p}:
            if aid not in self.expected:
                self.seconds[aid] = {}
                self.expected[aid] = run_reference(self.assignments[aid], sandbox, self.seconds[aid])
        jobs = [
            with_step_limits(submission_job(self.assignments[p[0]], p[1].cells, self.deny), self.seconds[p[0]],
                             self.config.step_factor, self.config.step_floor_s)
            for p in plans if p
        ]
        runs = iter(sandbox.run_many(jobs, progress=progress))
        for plan, result in zip(plans, results):
            if plan is None:
                continue
            self._score(result, plan[1], next(runs))
        return results

    def _unreadable(self, name: str, aid: str, why: str) -> SubmissionResult:
        result = SubmissionResult(name, aid, problem=why)
        for ex in self.assignments[aid].exercises:
            result.exercises.append(
                judge_exercise(ex, {}, {}, None, "ok", missing_message=f"the submission could not be read: {why}")
            )
        return result

    def _score(self, result: SubmissionResult, located, run: dict) -> None:
        assignment = self.assignments[result.assignment]
        expected = self.expected[result.assignment]
        calls = {}
        job_calls = [(ex.name, c.name) for ex in assignment.exercises for c in ex.cases]
        for key, outcome in zip(job_calls, run.get("calls", [])):
            calls[key] = outcome
        status = run.get("status", "crashed")
        if status != "ok":
            result.problem = STATUS_MESSAGES.get(status, status) + (f" ({run['message']})" if run.get("message") else "")
        result.wall_s = float(run.get("wall_s", 0.0))
        result.output = run.get("output", "")
        for ex in assignment.exercises:
            missing = located.notes[ex.name] if ex.name in located.missing else ""
            lacking = [n for n in ex.needs if n in located.missing]
            if not missing and lacking:
                missing = f"`{ex.name}` needs `{'`, `'.join(lacking)}`, which is missing from the notebook"
            result.exercises.append(
                judge_exercise(
                    ex,
                    {c.name: expected[(ex.name, c.name)] for c in ex.cases},
                    {c.name: calls.get((ex.name, c.name)) for c in ex.cases},
                    run.get("cells", {}).get(ex.name),
                    status,
                    note="" if ex.name in located.missing else located.notes.get(ex.name, ""),
                    missing_message=missing,
                )
            )
