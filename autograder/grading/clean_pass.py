"""The clean pass: submissions' traced graphs run in jobs that hold no student code (grading process).

A graph-ruled exercise is scored from the graph its function built, run where no student's Python is
(`autograder.grading.graphs`). Starting a job is most of a clean job's cost, so up to `CLEAN_BATCH`
submissions share one (each graph is its own call, with its own evidence and outputs; no state crosses
calls). A shared job that does not finish cleanly (a graph that never ends, or runs out of memory) is
split: each of its submissions then runs alone, and once more if the machine failed that run, so no
submission's graph costs another's grade.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable

from autograder.grading.graphs import CleanPlan
from autograder.run import Job, RunResult

if TYPE_CHECKING:
    from autograder.grading.driver import Runner

CLEAN_BATCH = 8
"""Submissions whose traced graphs share one clean job (split, each alone, when the shared job fails)."""

MACHINE_FAILURES = ("crashed", "exited", "protocol")
"""How a clean job ends when the machine, not a graph's ops, stopped it short (it is tried once more)."""


def graphs_of(plan: CleanPlan) -> str:
    """A digest of the graphs a clean job runs: submissions that traced the same graphs share it."""
    digest = hashlib.sha256()
    for call in plan.job.calls if plan.job is not None else []:
        traced = call.get("traced")
        graph = traced.get("graph") if isinstance(traced, dict) else None
        digest.update(hashlib.sha256(graph.encode() if isinstance(graph, str) else b"").digest())
    return digest.hexdigest()


def run_clean_jobs(runner: "Runner", plans: dict[int, CleanPlan], labels: list[str], workers: int,
                   finish: Callable[[int, RunResult | None], None]) -> None:
    """Runs every submission's clean job and hands each its run (None: it had no graph to run).

    Args:
        runner: the pool (or cluster) the class runs in.
        plans: each submission's clean plan, by its job's index.
        labels: every job's label (the submission's name), by index.
        workers: how many jobs run at once: at least one shared job per worker.
        finish: called once per submission with its clean run.
    """
    order = sorted(j for j, plan in plans.items() if plan.job is not None)
    for j in sorted(set(plans) - set(order)):
        finish(j, None)
    count = min(len(order), max(workers, -(-len(order) // CLEAN_BATCH)))
    order.sort(key=lambda j: (graphs_of(plans[j]), j))  # the same graphs in one job: each imported once there
    groups = [sorted(order[len(order) * i // count:len(order) * (i + 1) // count]) for i in range(count)]
    alone: list[int] = [] if len(order) > 1 else list(order)

    def shared(k: int, run: RunResult) -> None:
        group = groups[k]
        sizes = [len(plans[j].job.calls) for j in group]
        if run.status != "ok" or len(run.calls) != sum(sizes) or any(
                c is None or (c.error is not None and c.error.timed_out) for c in run.calls):
            alone.extend(group)  # a time limit stops the rest of its exercise's calls: others' too, when shared
            return
        at = 0
        for j, n in zip(group, sizes):
            finish(j, RunResult("ok", "", {}, run.calls[at:at + n]))
            at += n

    def batched(group: list[int]) -> Job:
        first = plans[group[0]].job
        return Job(first.setup, [], [c for j in group for c in plans[j].job.calls], first.seed, first.deny_paths)

    if len(order) > 1:
        runner.run_many([batched(g) for g in groups], on_result=shared,
                        labels=[" + ".join(labels[j] for j in g) for g in groups])
    alone.sort()
    failed: list[int] = []

    def ran(k: int, clean: RunResult) -> None:
        j = alone[k]
        finished = sum(call is not None for call in clean.calls)  # the pool pads a run cut short with None
        if clean.status in MACHINE_FAILURES and finished < len(plans[j].job.calls):
            failed.append(j)  # no student code runs there: the machine's failure, tried once more
            return
        finish(j, clean)

    if alone:
        runner.run_many([plans[j].job for j in alone], on_result=ran, labels=[labels[j] for j in alone])
    if failed:
        failed.sort()
        runner.run_many([plans[j].job for j in failed], on_result=lambda k, clean: finish(failed[k], clean),
                        labels=[labels[j] for j in failed])
