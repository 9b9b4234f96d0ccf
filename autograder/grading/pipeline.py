"""Grading a class: locate, run in the sandbox, compare with the reference, score.

The reference runs in a process of its own that never shares anything with a
student's: a sandbox of its own, or the first job of a fresh pool, forked from
a template that has run nothing, before any student's job starts. Its expected
values stay in this process. Each submission is
scored as soon as its run finishes and handed to `on_result` (which writes
its reports); anything that goes wrong with one submission - unreadable,
unrecognised, a crash, a malformed result - becomes that submission's row
with a reason, and the class goes on.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from autograder.authoring.student import load_assignment
from autograder.grading import graphs
from autograder.grading.clean_pass import run_clean_jobs
from autograder.grading.judge import STATUS_MESSAGES, judge_exercise, judge_located, located_problems
from autograder.grading.locate import Located, NotebookError, guess_assignment, locate, read_notebook
from autograder.grading.leaderboard import LEADERBOARD_RUNS, leaderboard_calls, leaderboard_entries
from autograder.reports.results import SubmissionResult
from autograder.grading.owned import link_problems
from autograder.grading.submissions import common_root, student_keys
from autograder.grading.reference import reference_job, reference_results
from autograder.grading.retry import after_retry_note, retry_reason
from autograder.rules.static import mentions
from autograder.grading.settings import GradeConfig
from autograder.grading.step_limits import StepLimits
from autograder.run import Cell, Job, RunResult
from autograder.authoring.spec import Assignment

if TYPE_CHECKING:
    from autograder.grading.driver import Runner

COMPILERS = ("tensorflow.function", "keras.src.backend.tensorflow.core.function")
TRACE_FLOOR_S = 8.0
"""Each step's time limit when a submission compiles its functions (`tf.function`): tracing is paid on a
step's first call, and its Python runs under the rules' watch, so a compiled function is not held to the
eager reference's time."""


class GradingError(RuntimeError):
    """A problem with the assignment itself (not with a submission)."""


def submission_job(assignment: Assignment, cells: dict[str, str], deny: list[str]) -> Job:
    """The job for one submission: the reference's setup, the student's graded cells.

    Its calls hold every case's inputs; `job_for` turns a graph-ruled exercise's cases into trace calls
    (`autograder.grading.graphs`), whose leaderboard repeats run in the clean job instead.
    """
    job = reference_job(assignment)
    mine = [Cell(n, cells[n]) for n in (e.name for e in assignment.exercises) if n in cells]
    boards = [c for c in leaderboard_calls(assignment, job.calls) if not graphs.is_graph_call(c)]
    return Job(job.setup, mine, job.calls + boards, job.seed, list(deny))


@dataclass
class SubmissionPlan:
    """One readable submission, ready to run: its place in the class, its assignment, its cells."""

    index: int
    assignment: str
    located: Located


@dataclass
class Batch:
    """A class being graded: every row (unfinished ones filled in by `Grader.score`), the plans
    still to run, the function that hands a finished row on, and the folders jobs may not read."""

    results: list[SubmissionResult]
    plans: list[SubmissionPlan]
    deliver: Callable[[SubmissionResult], None]
    deny: list[str]


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
        self.deny = [str(Path(config.solutions).resolve())] + list(deny_paths or [])
        self.expected: dict[str, dict] = {}
        self.limits: dict[str, StepLimits] = {}

    def grade(
        self,
        paths: list[Path],
        runner: "Runner | None" = None,
        progress: Callable[[int, int], None] | None = None,
        on_result: Callable[[SubmissionResult], None] | None = None,
    ) -> list[SubmissionResult]:
        """Grades every submission; a broken one never stops the others.

        Args:
            paths: the submitted notebooks.
            runner: where the students' jobs run: a warm `Sandbox` on this
                machine or a `GradingCluster` of Dask workers (anything with
                `run_many(jobs, on_result=..., labels=...)`); by default a
                sandbox is started with the config's limits and `jobs` workers.
            progress: called with (done, total) as submissions finish.
            on_result: called with each submission's result as soon as it is
                scored (an exception there is reported, not raised).
        Returns:
            The results, in the order of `paths`.
        """
        if runner is None:
            from autograder.grading.driver import open_runner

            with open_runner(self.config) as own:
                return self.grade(paths, own, progress, on_result)
        batch = self.begin(paths, progress, on_result)
        jobs = [self.job_for(p, batch.deny) for p in batch.plans]
        labels = [batch.results[p.index].submission for p in batch.plans]
        again: dict[int, str] = {}  # job -> why it runs a second time (failures the machine caused)
        held: dict[int, tuple[RunResult, str]] = {}  # job -> its run and retry note, waiting for its clean job

        def finish(j: int, run: RunResult, note: str, clean: "tuple[graphs.CleanPlan, RunResult] | None") -> None:
            plan = batch.plans[j]
            result = self.score(batch.results[plan.index], plan, run, clean)
            if note:
                result.problem = f"{result.problem}; {note}" if result.problem else note
            batch.deliver(result)

        def scored(j: int, run: RunResult) -> None:
            plan = batch.plans[j]
            assignment = self.assignments[plan.assignment]
            why = retry_reason(run, plan.located.cells, assignment.cells,
                               [str(call.get("exercise", "")) for call in jobs[j].calls],
                               {ex.name: tuple(ex.needs) for ex in assignment.exercises})
            if j not in again and why is not None:
                again[j] = why
                return
            note = after_retry_note(again[j], why) if j in again and why is not None else ""
            if any(ex.graph for ex in assignment.exercises):
                held[j] = (run, note)  # scored once its traced graphs have run in a clean job
                return
            finish(j, run, note, None)

        runner.run_many(jobs, on_result=scored, labels=labels)
        if again:
            order = sorted(again)
            runner.run_many([jobs[j] for j in order], on_result=lambda k, run: scored(order[k], run),
                            labels=[labels[j] for j in order])
        if held:
            self._clean_pass(runner, batch, held, labels, finish)
        return batch.results

    def _clean_pass(self, runner: "Runner", batch: "Batch", held: dict[int, tuple[RunResult, str]],
                    labels: list[str], finish: Callable) -> None:
        """Runs the held submissions' traced graphs in jobs with no student code, then scores each with both
        runs (`autograder.grading.clean_pass`)."""
        plans: dict[int, graphs.CleanPlan] = {}
        for j, (run, _) in held.items():
            try:
                plans[j] = self.clean_plan(batch.plans[j], run, batch.deny)
            except Exception:  # noqa: BLE001 - scored without its graphs' outputs (each case says so)
                traceback.print_exc()
                plans[j] = graphs.CleanPlan(None)
        run_clean_jobs(runner, plans, labels, int(self.config.jobs or 1),
                       lambda j, clean: finish(j, held[j][0], held[j][1], (plans[j], clean)))

    def clean_plan(self, plan: SubmissionPlan, run: RunResult, deny: list[str]) -> graphs.CleanPlan:
        """The clean job of one submission whose job traced graphs (`autograder.grading.graphs.clean_job`)."""
        assignment = self.assignments[plan.assignment]
        original = submission_job(assignment, plan.located.cells, deny)
        plan_ = graphs.clean_job(assignment, original, run, deny, LEADERBOARD_RUNS - 1)
        if plan_.job is None:
            return plan_
        timed = self.step_limits(plan.assignment).at_least(graphs.TRACE_FLOOR_S).apply(plan_.job)
        return graphs.CleanPlan(timed, plan_.keys, plan_.boards)

    def begin(self, paths: list[Path], progress: Callable[[int, int], None] | None = None,
              on_result: Callable[[SubmissionResult], None] | None = None) -> "Batch":
        """Reads and locates the class, runs the references, and delivers at once the rows that
        need no run (unreadable files): what is left is a job per plan, whatever runs them."""
        results, plans = self.prepare_all(paths)
        deliver = self.deliverer(len(paths), progress, on_result)
        planned = {p.index for p in plans}
        for i, result in enumerate(results):
            if i not in planned:
                deliver(result)
        return Batch(results, plans, deliver, self.class_deny(paths))

    def prepare_all(self, paths: list[Path]) -> tuple[list[SubmissionResult], list[SubmissionPlan]]:
        """Reads and locates every submission; runs the references they need.

        Returns:
            One result per path (complete already for a file that cannot be
            graded), and a plan for each submission that has a job to run.
        """
        results: list[SubmissionResult] = []
        plans: list[SubmissionPlan] = []
        keys = student_keys([Path(p) for p in paths], self.config.root, self.config.roster, set(self.assignments))
        linked = link_problems([Path(p) for p in paths], self.config.root or common_root([Path(p) for p in paths]),
                               sorted(Path(self.config.solutions).glob("*.ipynb")))
        for i, (path, key) in enumerate(zip(paths, keys)):
            if i in linked:  # never opened: a link would read another file than the student's own
                stem, only = Path(path).stem, next(iter(self.assignments)) if len(self.assignments) == 1 else None
                aid = self.config.assignment or (stem if stem in self.assignments else only)
                results.append(self._unreadable(key, aid, linked[i]))
                continue
            result, plan = self.prepare(i, Path(path), key)
            results.append(result)
            if plan is not None:
                plans.append(plan)
        for aid in sorted({p.assignment for p in plans}):
            self._load_reference(aid)
        return results, plans

    def load_references(self, paths: list[Path]) -> None:
        """Runs the references the class needs (each once, in a process of its own), so that a pool can
        warm up meanwhile; `grade` then finds them done. With `config.assignment` set, no notebook
        is read here."""
        if self.config.assignment:
            self._load_reference(self.config.assignment)
            return
        for path in paths:
            try:
                nb = read_notebook(Path(path))
                aid = self.config.assignment or guess_assignment(nb, self.assignments)
            except Exception:  # noqa: BLE001 - its row will say why, when graded
                continue
            if aid is not None:
                self._load_reference(aid)

    def class_deny(self, paths: list[Path]) -> list[str]:
        """Folders no job may read: the solutions, the public cases, the output, the class's own folders."""
        return sorted(set(self.deny) | {str(Path(p).resolve().parent) for p in paths})

    def job_for(self, plan: SubmissionPlan, deny: list[str]) -> Job:
        """The job that runs one submission's graded cells and cases, with step limits.

        Args:
            plan: from `prepare`.
            deny: from `class_deny`.
        """
        self._load_reference(plan.assignment)
        assignment = self.assignments[plan.assignment]
        limits = self.step_limits(plan.assignment)
        if any(mentions(source, COMPILERS, assignment.setup) for source in plan.located.cells.values()):
            limits = limits.at_least(TRACE_FLOOR_S)  # tracing a compiled function (watched) takes seconds
        job = limits.apply(submission_job(assignment, plan.located.cells, deny))
        return Job(job.setup, job.cells, graphs.with_trace_floor(graphs.student_calls(job.calls)), job.seed,
                   job.deny_paths)

    def score(self, result: SubmissionResult, plan: SubmissionPlan, run: RunResult,
              clean: "tuple[graphs.CleanPlan, RunResult | None] | None" = None) -> SubmissionResult:
        """Scores one run into `result` (in place, and returned); never raises.

        Args:
            clean: the submission's clean job and its run (graph-ruled exercises: their outputs and evidence).
        """
        try:
            self._score(result, plan.located, run, clean)
        except Exception as exc:  # noqa: BLE001 - this submission's row says why
            result.exercises.clear()
            result.problem = f"the grader could not score this submission: {type(exc).__name__}: {exc}"
            traceback.print_exc()
        return result

    def deliverer(self, total: int, progress: Callable[[int, int], None] | None,
                   on_result: Callable[[SubmissionResult], None] | None) -> Callable[[SubmissionResult], None]:
        """A thread-safe function that hands a finished result to `on_result` and counts it."""
        done_lock = threading.Lock()
        finished = [0]

        def deliver(result: SubmissionResult) -> None:
            if on_result is not None:
                try:
                    on_result(result)
                except Exception as exc:  # noqa: BLE001 - one report's trouble is not the class's
                    result.problem = (result.problem + "; " if result.problem else "") + (
                        f"its report could not be written: {type(exc).__name__}: {exc}")
            if progress is not None:
                with done_lock:
                    finished[0] += 1
                    progress(finished[0], total)

        return deliver

    def prepare(self, index: int, path: Path, name: str | None = None) -> tuple[SubmissionResult, SubmissionPlan | None]:
        """Reads and locates one submission: its result so far, and its plan (None: nothing to run).

        Args:
            index: its place in the class.
            path: the notebook.
            name: its gradebook key (default: the file's stem).
        """
        name = name or path.stem
        try:
            nb = read_notebook(path)
        except NotebookError as exc:
            return self._unreadable(name, self.config.assignment, f"the submission could not be read: {exc}"), None
        except Exception as exc:  # noqa: BLE001
            return self._unreadable(name, self.config.assignment,
                                    f"the submission could not be read: {type(exc).__name__}: {exc}"), None
        try:
            aid = self.config.assignment or guess_assignment(nb, self.assignments)
            if aid is None:
                known = ", ".join(sorted(self.assignments))
                return self._unreadable(name, None, f"this notebook belongs to none of the assignments ({known}): "
                                        "it has no `# GRADED:` cell of any of them"), None
            located = locate(nb, [e.name for e in self.assignments[aid].exercises])
        except Exception as exc:  # noqa: BLE001 - every field of a notebook is the student's: costs this row only
            return self._unreadable(name, self.config.assignment,
                                    f"the submission could not be read: its contents are malformed ({type(exc).__name__})"), None
        return SubmissionResult(name, aid), SubmissionPlan(index, aid, located)

    def step_limits(self, aid: str) -> StepLimits:
        """How the steps of a submission of `aid` are limited (its reference must be loaded)."""
        return self.limits[aid]

    def _load_reference(self, aid: str) -> None:
        if aid not in self.expected:
            config = self.config
            reference = reference_results(self.assignments[aid], config.limits, Path(config.solutions))
            self.expected[aid] = reference.expected
            self.limits[aid] = StepLimits(reference.scaled_seconds(), reference.scaled_seconds(cpu=True),
                                          config.step_factor, config.step_floor_s, config.step_cpu_factor,
                                          config.step_cpu_floor_s)

    def _unreadable(self, name: str, aid: str | None, why: str) -> SubmissionResult:
        """A row for a submission that cannot be graded: zero on each exercise if its assignment is known."""
        result = SubmissionResult(name, aid or "", problem=why)
        if aid is not None:
            for ex in self.assignments[aid].exercises:
                result.exercises.append(judge_exercise(ex, {}, {}, None, "ok", missing_message=why))
        return result

    def _score(self, result: SubmissionResult, located: Located, run: RunResult,
               clean: "tuple[graphs.CleanPlan, RunResult | None] | None" = None) -> None:
        assignment = self.assignments[result.assignment]
        expected = self.expected[result.assignment]
        keys = [(ex.name, c.name) for ex in assignment.exercises for c in ex.cases]
        plan, clean_run = clean if clean is not None else (None, None)
        merged = graphs.merge(assignment, keys, run, plan, clean_run)
        calls = merged.calls
        if run.status != "ok":
            result.problem = STATUS_MESSAGES.get(run.status, run.status) + (f" ({run.message})" if run.message else "")
        result.wall_s = run.wall_s
        result.output = run.output
        for ex in assignment.exercises:
            row = judge_located(
                ex, located, assignment.setup, {c.name: expected[(ex.name, c.name)] for c in ex.cases},
                {c.name: calls.get((ex.name, c.name)) for c in ex.cases}, run.cells.get(ex.name), run.status)
            cell = run.cells.get(ex.name)
            if ex.graph and not any(located_problems(ex, located, assignment.setup)) and (cell is None or cell.ok):
                graphs.apply_verdicts(row, merged)  # a rule broken in the graph, or a failed trace
            result.exercises.append(row)
        repeats = graphs.leaderboard_repeats(assignment, run, len(keys), plan, clean_run, LEADERBOARD_RUNS - 1)
        result.leaderboard = leaderboard_entries(assignment, result, calls, repeats)
