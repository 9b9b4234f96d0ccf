"""The reference's results: run once in a job of their own, then kept privately with the solutions.

Runs in the grading process. Expected values and step times come from
running the reference notebook on every case, in a process of its own (never
one that runs a student's code). That run costs a TensorFlow start-up, so its
results are stored in `<solutions>/.autograder-cache/<id>.json`, keyed by a
hash of everything that decides them: the reference's setup and graded
cells, every case's call (inputs included), the package's version and the
TensorFlow and Keras versions installed. A grading call whose key matches
runs no reference at all; any change to the notebook, the cases or the
versions gives a new key and a fresh run.

The same run also runs each exercise's known mistakes (`autograder.grading.mistakes`):
their variants and calls are part of the reference's job, so of its key too,
and their outputs are stored inside the expected values (`"mistakes"`).

Where no stored result fits, the reference runs in a throwaway sandbox of its
own, or, inside `runs_in(pool)`, as one job of a warm pool that has run no
student's job yet (`autograder.grading.driver.GradingSession` does this, so
that a one-submission grading call imports TensorFlow once, not twice): a
job is always its own process, forked from a template that never reads a
job, so what the reference computed never reaches a student's process.

The file sits beside the reference notebooks: it is as secret as they are,
never copied into a student release, and unreadable from every job (the
solutions folder is outside what a job may read). Its step times were
measured on the machine that stored them; they are scaled by
`machine_speed()`, a quick calibration of the current machine, so that a
slower or busier machine gets proportionally longer wall-clock step limits;
the CPU-time limits are scaled by the same calibration's CPU time, which
follows the processor's speed and not the machine's load.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from autograder.authoring.spec import Assignment, call_spec
from autograder.grading.mistakes import attach, parse_variant, variant_steps
from autograder.run import Cell, Job, Limits, Sandbox

CACHE_DIR = ".autograder-cache"
MIN_SCALE = 0.25
"""Stored step times shrink at most this much on a faster machine (a calibration is a few milliseconds)."""
FORMAT = 4  # 3: the calibration is a lower quartile, not the median; 4: and its CPU time is kept
_MEMORY: dict[str, "ReferenceRun"] = {}
_LOCK = threading.Lock()
_SPEED: list[float] = []
_RUNS_IN: ContextVar["Sandbox | None"] = ContextVar("reference_sandbox", default=None)


class BrokenReference(RuntimeError):
    """The reference itself fails a cell or a case (fix the solution)."""


@dataclass(frozen=True)
class ReferenceRun:
    """What the reference produced.

    Attributes:
        expected: `(exercise, case) -> run_call result` (plain data).
        seconds: how long each step took: `(exercise, case)` for a check,
            `(exercise, "")` for a graded cell.
        speed_s: `machine_speed()` on the machine that measured `seconds`.
        cpu_speed_s: `machine_speed(cpu=True)` there (0: unknown, `speed_s` stands in).
        cpu_seconds: each step's CPU time, keyed as `seconds` (None: unknown, `seconds` stands in). A step
            that uses several cores takes more CPU time than wall-clock time.
    """

    expected: dict[tuple[str, str], Any]
    seconds: dict[tuple[str, str], float]
    speed_s: float
    cpu_speed_s: float = 0.0
    cpu_seconds: dict[tuple[str, str], float] | None = None

    def scaled_seconds(self, cpu: bool = False) -> dict[tuple[str, str], float]:
        """The step times as this machine would take them now: longer on a slower or busier machine, shorter
        on a faster or quieter one than the machine that stored them (at most `MIN_SCALE` times shorter).

        Args:
            cpu: the steps' CPU times, scaled by the processor's speed alone (for CPU-time limits), not by
                how busy the machine is.
        """
        if cpu and self.cpu_speed_s > 0 and self.cpu_seconds is not None:
            then, now, times = self.cpu_speed_s, machine_speed(cpu=True), self.cpu_seconds
        else:
            then, now, times = self.speed_s, machine_speed(), self.seconds
        factor = max(MIN_SCALE, now / then) if then > 0 else 1.0
        return {key: value * factor for key, value in times.items()}


def reference_job(assignment: Assignment) -> Job:
    """The job that runs the reference solution on every case (a submission's job starts from it)."""
    return Job(
        setup=list(assignment.setup),
        cells=[Cell(ex.name, assignment.cells[ex.name]) for ex in assignment.exercises],
        calls=[call_spec(assignment.id, ex, case) for ex in assignment.exercises for case in ex.cases],
    )


def reference_run_job(assignment: Assignment) -> Job:
    """`reference_job`, then every exercise's known mistakes on every case (see `autograder.grading.mistakes`)."""
    job = reference_job(assignment)
    cells, calls = variant_steps(assignment)
    return Job(job.setup, job.cells + cells, job.calls + calls, job.seed, job.deny_paths)


def run_reference(
    assignment: Assignment, sandbox: Sandbox, seconds: dict[tuple[str, str], float] | None = None,
    cpu_seconds: dict[tuple[str, str], float] | None = None,
) -> dict[tuple[str, str], dict]:
    """Expected values: `(exercise, case) -> run_call result` from the reference.

    Args:
        sandbox: where the reference runs; never the pool that runs students.
        seconds: filled, when given, with how long each step took:
            `(exercise, case)` for a check, `(exercise, "")` for a graded cell.
        cpu_seconds: the same in the job's CPU time (the child's own figure: this is the reference's code).

    Each result carries, under `"mistakes"`, the outputs of the exercise's known
    mistakes that differ from it (`autograder.grading.mistakes.attach`).

    Raises:
        BrokenReference: the reference fails a cell or a case (fix the solution).
    """
    job = reference_run_job(assignment)
    result = sandbox.run(job)
    variants: dict[tuple[str, str], dict[int, object]] = {}
    for name, cell in result.cells.items():
        if "~" in name:  # a known mistake's variant (or the reference run again after them) may fail
            continue
        if not cell.ok:
            why = cell.error.text() if cell.error else result.message
            raise BrokenReference(f"{assignment.id}: the reference cell `{name}` failed: {why}")
        if seconds is not None:
            seconds[(name, "")] = cell.seconds
        if cpu_seconds is not None:
            cpu_seconds[(name, "")] = cell.cpu_s
    expected = {}
    for call, outcome in zip(job.calls, result.calls):
        variant = parse_variant(call["exercise"])
        if variant is not None:
            if outcome is not None and outcome.ok:
                variants.setdefault((variant[0], call["case"]), {})[variant[1]] = outcome.value
            continue
        if outcome is None or not outcome.ok:
            why = outcome.error.text() if outcome and outcome.error else result.message or result.status
            raise BrokenReference(f"{assignment.id}: the reference failed case {call['exercise']}/{call['case']}: {why}")
        expected[(call["exercise"], call["case"])] = outcome.value
        if seconds is not None:
            seconds[(call["exercise"], call["case"])] = outcome.seconds
        if cpu_seconds is not None:
            cpu_seconds[(call["exercise"], call["case"])] = outcome.cpu_s
    for ex in assignment.exercises:
        for case in ex.cases:
            if ex.mistakes and (ex.name, case.name) in expected:
                expected[(ex.name, case.name)] = attach(ex, case, expected[(ex.name, case.name)],
                                                        variants.get((ex.name, case.name), {}))
    return expected


def machine_speed(repeats: int = 9, cpu: bool = False) -> float:
    """Seconds this machine takes for a fixed pure-Python workload: the lower quartile of `repeats` runs
    (measured once per process), in wall-clock time or, with `cpu`, in this thread's CPU time.

    A busy machine (every core taken by other work) slows most runs, while a moment's contention (our own
    templates starting beside the calibration) slows only some: the lower quartile follows the first and
    ignores the second. The CPU time follows neither: only the processor's speed.
    """
    with _LOCK:
        if not _SPEED:
            walls, cpus = [], []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.thread_time()
                total = 0
                for i in range(100_000):
                    total += (i * i) % 7
                walls.append(time.perf_counter() - start)
                cpus.append(time.thread_time() - start_cpu)
            _SPEED.extend([sorted(walls)[len(walls) // 4], sorted(cpus)[len(cpus) // 4]])
        return _SPEED[1] if cpu else _SPEED[0]


def _version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "none"


def cache_key(assignment: Assignment) -> str:
    """A hash of everything that decides the reference's results."""
    from autograder import __version__

    decided_by = {"job": reference_run_job(assignment).to_dict(), "autograder": __version__, "format": FORMAT,
                  "tensorflow": _version("tensorflow", "tensorflow-cpu", "tf-nightly"), "keras": _version("keras"),
                  "numpy": _version("numpy")}
    return hashlib.sha256(json.dumps(decided_by, sort_keys=True, default=str).encode()).hexdigest()


def cache_path(solutions: Path, assignment_id: str) -> Path:
    """Where an assignment's reference results are kept."""
    return Path(solutions) / CACHE_DIR / f"{assignment_id}.json"


def _pairs(mapping: dict[tuple[str, str], Any]) -> list[list[Any]]:
    return [[exercise, case, value] for (exercise, case), value in mapping.items()]


def load(path: Path, key: str) -> ReferenceRun | None:
    """The stored run at `path` if it was stored under `key`; None when absent, stale or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("key") != key or data.get("format") != FORMAT:
            return None
        expected = {(str(e), str(c)): v for e, c, v in data["expected"]}
        seconds = {(str(e), str(c)): float(v) for e, c, v in data["seconds"]}
        cpu = {(str(e), str(c)): float(v) for e, c, v in data["cpu_seconds"]}
        return ReferenceRun(expected, seconds, float(data["speed_s"]), float(data["cpu_speed_s"]), cpu)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store(path: Path, key: str, run: ReferenceRun) -> bool:
    """Writes `run` atomically; a folder that cannot be written costs only the cache (False)."""
    data = {"format": FORMAT, "key": key, "speed_s": run.speed_s, "cpu_speed_s": run.cpu_speed_s,
            "cpu_seconds": _pairs(run.cpu_seconds or {}), "expected": _pairs(run.expected),
            "seconds": _pairs(run.seconds)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
            json.dump(data, tmp)
        os.replace(tmp.name, path)
        return True
    except OSError as exc:
        warnings.warn(f"the reference's results could not be kept in {path.parent} ({exc}); "
                      "the next grading call will run the reference again", stacklevel=2)
        return False


@contextmanager
def runs_in(sandbox: Sandbox | None) -> Iterator[None]:
    """Inside this block, a reference that must run does so as one job of `sandbox` (None: in a throwaway
    sandbox of its own, as outside it).

    `sandbox` is a warm pool that has run no student's job yet and runs none while the block lasts: the
    reference's job is then its own process, forked like any job from a template that never reads a job,
    and the pool's first student job starts after it, with its step times known.
    """
    token = _RUNS_IN.set(sandbox)
    try:
        yield
    finally:
        _RUNS_IN.reset(token)


def reference_results(assignment: Assignment, limits: Limits, solutions: Path | None = None,
                      sandbox: Sandbox | None = None) -> ReferenceRun:
    """The reference's results: from this process, from the solutions' cache, or from a fresh run (then stored).

    Args:
        assignment: the reference.
        limits: for the throwaway sandbox a fresh run needs.
        solutions: the folder of reference notebooks (None: keep nothing on disk).
        sandbox: where a fresh run goes (default: `runs_in`'s pool, else a throwaway sandbox of its own);
            never a pool while it runs a student's job.

    Raises:
        BrokenReference: the reference fails a cell or a case.
    """
    key = cache_key(assignment)
    path = cache_path(solutions, assignment.id) if solutions is not None else None
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    run = load(path, key) if path is not None else None
    if run is None:
        seconds: dict[tuple[str, str], float] = {}
        cpu_seconds: dict[tuple[str, str], float] = {}
        warm = sandbox if sandbox is not None else _RUNS_IN.get()
        if warm is not None:
            expected = run_reference(assignment, warm, seconds, cpu_seconds)
        else:
            with Sandbox(limits, workers=1) as own:
                expected = run_reference(assignment, own, seconds, cpu_seconds)
        run = ReferenceRun(expected, seconds, machine_speed(), machine_speed(cpu=True), cpu_seconds)
        if path is not None:
            store(path, key, run)
    with _LOCK:
        _MEMORY[key] = run
    return run
