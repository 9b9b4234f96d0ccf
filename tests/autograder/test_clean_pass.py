"""The clean pass shares jobs between submissions, and one submission's graph never costs another's grade."""

from __future__ import annotations

import shutil

import pytest

from autograder.grading.clean_pass import CLEAN_BATCH, run_clean_jobs
from autograder.grading.graphs import CleanPlan
from autograder.run import Job, RunResult
from autograder.run.protocol import CallResult, ErrorInfo


def plan(name: str, calls: int = 2) -> CleanPlan:
    return CleanPlan(Job(["import math"], [], [{"exercise": "f", "case": f"{name} {i}", "owner": name}
                                               for i in range(calls)], 0, []))


def ok_calls(job: Job) -> list[CallResult]:
    return [CallResult(True, {"value": call["owner"]}, None, 0.01) for call in job.calls]


class Runner:
    """Runs each job with `answer(job, attempt)`; keeps every job it was given."""

    def __init__(self, answer) -> None:
        self.answer, self.jobs = answer, []

    def run_many(self, jobs, on_result=None, labels=None):
        for i, job in enumerate(jobs):
            self.jobs.append(job)
            on_result(i, self.answer(job, len(self.jobs)))


def owners(job: Job) -> set[str]:
    return {call["owner"] for call in job.calls}


def run(plans: dict[int, CleanPlan], runner: Runner, workers: int = 1) -> dict[int, RunResult | None]:
    got: dict[int, RunResult | None] = {}
    run_clean_jobs(runner, plans, [f"s{j}" for j in range(max(plans) + 1)], workers,
                   lambda j, clean: got.__setitem__(j, clean))
    return got


def test_submissions_share_jobs_and_each_gets_its_own_calls():
    plans = {j: plan(f"s{j}") for j in range(2 * CLEAN_BATCH)}
    runner = Runner(lambda job, _: RunResult("ok", "", {}, ok_calls(job)))
    got = run(plans, runner)
    assert len(runner.jobs) == 2 and all(len(owners(job)) == CLEAN_BATCH for job in runner.jobs)
    for j, clean in got.items():
        assert [c.value["value"] for c in clean.calls] == [f"s{j}", f"s{j}"]


def test_a_graph_that_never_ends_costs_only_its_own_submission():
    def answer(job, _):
        calls = ok_calls(job)
        if "s1" in owners(job):  # s1's graph runs out of time, in the shared job and alone
            at = [c["owner"] for c in job.calls].index("s1")
            calls[at] = CallResult(False, None, ErrorInfo("StepTimeLimit", "stopped", "", True), 1.0)
            calls = calls[:at + 1] + [None] * (len(calls) - at - 1)
        return RunResult("ok", "", {}, calls)

    plans = {j: plan(f"s{j}") for j in range(3)}
    got = run(plans, Runner(answer))
    assert got[1].calls[0].error.timed_out
    assert all(c.ok and c.value["value"] == f"s{j}" for j in (0, 2) for c in got[j].calls)


def test_a_crash_the_machine_caused_is_tried_once_more_then_kept():
    attempts = {"s0": 0}

    def answer(job, _):
        crashed = RunResult("crashed", "signal 6", {}, [None] * len(job.calls))  # as the pool pads a cut-short run
        if owners(job) == {"s0"}:
            attempts["s0"] += 1
            return crashed
        return crashed if "s0" in owners(job) else RunResult("ok", "", {}, ok_calls(job))

    got = run({0: plan("s0"), 1: plan("s1")}, Runner(answer))
    assert attempts["s0"] == 2 and got[0].status == "crashed"
    assert got[1].status == "ok" and got[1].calls[0].value["value"] == "s1"


def test_a_submission_with_no_graph_is_finished_without_a_job():
    runner = Runner(lambda job, _: RunResult("ok", "", {}, ok_calls(job)))
    got = run({0: CleanPlan(None), 1: plan("s1")}, runner)
    assert got[0] is None and got[1].status == "ok" and len(runner.jobs) == 1


class CrashingCleanJobs:
    """A real sandbox whose first `crashes` clean jobs (jobs with no cell: no student code) die of SIGSEGV
    before their first call, as a job the machine killed would."""

    CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"

    def __init__(self, box, crashes: int) -> None:
        self.box, self.left, self.clean_jobs = box, crashes, 0

    def run_many(self, jobs, on_result=None, labels=None):
        return self.box.run_many([self._maybe(job) for job in jobs], on_result=on_result, labels=labels)

    def _maybe(self, job: Job) -> Job:
        if job.cells:
            return job
        self.clean_jobs += 1
        if not self.left:
            return job
        self.left -= 1
        return Job([*job.setup, self.CRASH], job.cells, job.calls, job.seed, job.deny_paths)


@pytest.mark.slow
def test_clean_jobs_the_machine_kills_are_split_and_retried_in_a_real_sandbox(roomy_sandbox, tmp_path):
    """The shared clean job dies, then the first submission's job alone dies too: both submissions are still
    graded in full from their graphs (shared job, each alone, the first once more: four clean jobs)."""
    from lesson_submissions import assert_full_marks, solution

    from autograder.grading.pipeline import GradeConfig, Grader
    from autograder.run import Limits

    paths = []
    for name in ("first", "second"):
        shutil.copyfile(solution("A2"), tmp_path / f"{name}.ipynb")
        paths.append(tmp_path / f"{name}.ipynb")
    runner = CrashingCleanJobs(roomy_sandbox, crashes=2)
    grader = Grader(GradeConfig(solution("A2").parent, "A2", 1, Limits()))
    results = grader.grade(paths, runner)
    assert runner.clean_jobs == 4
    for result in results:
        assert_full_marks(result)


def traced_plan(name: str, graph: str, calls: int = 2) -> CleanPlan:
    return CleanPlan(Job(["import math"], [], [{"exercise": "f", "case": f"{name} {i}", "owner": name,
                                                "traced": {"graph": f"{graph} {i}"}} for i in range(calls)], 0, []))


def test_submissions_that_traced_the_same_graphs_share_a_job():
    """Each shared job imports each distinct graph once: the same graphs go to the same job, whatever the order."""
    kinds = ["a", "b", "c", "d"]
    plans = {j: traced_plan(f"s{j}", kinds[(j // 2) % 4]) for j in range(4 * CLEAN_BATCH)}
    runner = Runner(lambda job, _: RunResult("ok", "", {}, ok_calls(job)))
    got = run(plans, runner, workers=2)
    assert len(runner.jobs) == 4
    for job in runner.jobs:
        graphs = {call["traced"]["graph"].split()[0] for call in job.calls}
        assert len(graphs) == 1, graphs
    for j, clean in got.items():
        assert [c.value["value"] for c in clean.calls] == [f"s{j}", f"s{j}"]


def test_jobs_are_as_even_as_the_class_allows():
    plans = {j: traced_plan(f"s{j}", f"g{j}") for j in range(CLEAN_BATCH + 3)}
    runner = Runner(lambda job, _: RunResult("ok", "", {}, ok_calls(job)))
    run(plans, runner, workers=2)
    sizes = sorted(len(owners(job)) for job in runner.jobs)
    assert sum(sizes) == CLEAN_BATCH + 3 and sizes[-1] - sizes[0] <= 1 and len(sizes) == 2
