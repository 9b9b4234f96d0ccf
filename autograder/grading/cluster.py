"""Grading a class on Dask workers, each with its own warm, isolated sandbox.

`autograder grade ... --scheduler ADDRESS` sends each submission to a Dask
cluster as one task; `--scheduler local:N` starts a `distributed.LocalCluster`
of N worker processes (one thread each) on this machine first.

What runs where:

- The client (the grading process) reads every notebook, runs the reference
  once in its own throwaway sandbox, builds one `Job` per submission and
  scores every result. Expected values and the solutions never leave it.
- Each worker holds one `Sandbox` for its lifetime (`SandboxPlugin`) and runs
  the jobs it is given there (`run_on_worker`), exactly as a local run does;
  it returns the plain `RunResult`, which the client decodes strictly.

A worker that dies in the middle of a submission costs nothing: Dask runs the
task again on another worker. A submission during which every worker it
touches dies ends, after `distributed.scheduler.allowed-failures` + 1 tries,
as a row that says so; the rest of the class is graded. On a cluster started
elsewhere, set `allowed-failures` (and `worker-saturation: 1.0`, so that a
dying worker holds only the task it runs) in the scheduler's Dask config.

Example:

```python
grader = Grader(GradeConfig(Path("solutions")))
with GradingCluster("local:2", grader.config.limits) as cluster:
    print(cluster.isolation().describe())
    results = grader.grade(paths, cluster, on_result=writer.add)  # as with a local `Sandbox`
```

`GradingCluster.run_many(jobs, on_result)` is `Sandbox.run_many`'s interface, so
`Grader` grades through either (`autograder.grading.driver` picks one).

`distributed` is an optional dependency (`pip install "keras-seq-course[dask]"`);
this module imports without it, and `GradingCluster` says how to install it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from autograder.reports.results import SubmissionResult
from autograder.run import Isolation, Job, Limits, RunResult, Sandbox
from autograder.run.pool import stopped

if TYPE_CHECKING:
    from autograder.grading.pipeline import Grader

try:
    import distributed
except ImportError:  # the [dask] extra is not installed: GradingCluster says so
    distributed = None  # type: ignore[assignment]

INSTALL_HINT = 'pip install "keras-seq-course[dask]"'
ALLOWED_FAILURES = 2  # a submission may see this many workers die under it and still be tried again
WORKER_WAIT_S = 120.0  # how long to wait for a first worker on a remote scheduler
PLUGIN_PREFIX = "autograder-sandbox-"
_LOCAL = re.compile(r"local:(\d+)")

_WorkerPlugin: type = distributed.WorkerPlugin if distributed is not None else object


class ClusterUnavailable(RuntimeError):
    """`distributed` is missing, or the scheduler cannot be used."""


def require_distributed() -> None:
    """Raises `ClusterUnavailable` with the install command when `distributed` is missing."""
    if distributed is None:
        raise ClusterUnavailable(f"--scheduler needs Dask's `distributed`, which is not installed: {INSTALL_HINT}")


def plugin_name(limits: Limits) -> str:
    """The worker plugin's name for these limits (the same limits reuse the same warm sandboxes)."""
    digest = hashlib.sha256(json.dumps(asdict(limits), sort_keys=True).encode()).hexdigest()[:12]
    return PLUGIN_PREFIX + digest


class SandboxPlugin(_WorkerPlugin):
    """A Dask worker plugin that keeps one warm `Sandbox` on each worker for the worker's lifetime.

    The sandbox has one template per worker thread (one, for the workers
    `local:N` starts). Its templates import TensorFlow in the background as
    soon as the worker starts, so the first job waits at most that long.

    Args:
        limits: the resource limits applied to every job on the worker.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.sandbox: Sandbox | None = None

    def setup(self, worker: Any) -> None:
        self.sandbox = Sandbox(self.limits, workers=max(1, int(getattr(worker, "nthreads", 1) or 1)))

    def teardown(self, worker: Any) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None


def _worker_sandbox(name: str) -> Sandbox:
    plugin = distributed.get_worker().plugins.get(name)
    sandbox = getattr(plugin, "sandbox", None)
    if sandbox is None:
        raise RuntimeError(f"this Dask worker has no autograder sandbox {name!r}")
    return sandbox


def run_on_worker(job: dict, plugin: str) -> dict:
    """Runs one submission's job in this worker's sandbox (a Dask task).

    The job holds only the grader's setup code, the student's graded cells and
    the calls to make: the reference runs in the client, and expected values
    never leave it, so nothing a worker holds is worth stealing.

    Args:
        job: `Job.to_dict()`.
        plugin: the name of the `SandboxPlugin` registered for the class's limits.

    Returns:
        The `RunResult` as plain data (`dataclasses.asdict`); the client
        decodes it strictly with `RunResult.decode`.
    """
    return asdict(_worker_sandbox(plugin).run(Job.from_dict(job)))


def worker_isolation(plugin: str) -> dict:
    """The isolation in force around this worker's jobs (a Dask task; waits for its templates)."""
    return _worker_sandbox(plugin).isolation().to_dict()


def weakest(isolations: list[Isolation]) -> Isolation:
    """The least complete of several isolation reports (what a class can count on)."""
    return min(isolations, key=lambda i: (i.complete, -len(i.missing)))


def start_local_cluster(n_workers: int, allowed_failures: int = ALLOWED_FAILURES) -> Any:
    """A `distributed.LocalCluster` of `n_workers` processes, one thread each, set up for grading.

    Its scheduler gives up on a task after `allowed_failures` + 1 worker deaths
    and hands each worker one task at a time, so a dying worker takes only the
    task it was running with it.
    """
    require_distributed()
    if n_workers < 1:
        raise ValueError(f"a local cluster needs at least one worker; got {n_workers}")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures),
                          "distributed.scheduler.worker-saturation": 1.0}):
        return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR)


def task_key(index: int, label: str) -> str:
    """A Dask key naming the submission (readable on the dashboard and in worker logs)."""
    return f"grade-{index:05d}-{label[:80]}-{uuid.uuid4().hex[:8]}"


class GradingCluster:
    """A connection to a Dask cluster whose workers grade with warm sandboxes.

    Args:
        scheduler: a Dask scheduler address (`tcp://host:8786`), or `local:N`
            to start a `LocalCluster` of N one-thread worker processes here.
        limits: the resource limits of every job (one `SandboxPlugin` per set
            of limits is registered; an existing one is reused, warm).

    Raises:
        ClusterUnavailable: `distributed` is not installed, or no worker joined.
        ValueError: `local:N` with N < 1.
    """

    def __init__(self, scheduler: str, limits: Limits) -> None:
        require_distributed()
        self.scheduler = scheduler
        self.limits = limits
        self.plugin = plugin_name(limits)
        self.cluster: Any = None
        local = _LOCAL.fullmatch(scheduler.strip())
        try:
            if local:
                self.cluster = start_local_cluster(int(local.group(1)))
                self.client = distributed.Client(self.cluster, set_as_default=False)
                self.client.wait_for_workers(int(local.group(1)), timeout=WORKER_WAIT_S)
            else:
                self.client = distributed.Client(scheduler, set_as_default=False, timeout="30s")
                try:
                    self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
                except TimeoutError as exc:
                    raise ClusterUnavailable(f"no Dask worker joined {scheduler} within {WORKER_WAIT_S:g} s") from exc
            names = self.client.run_on_scheduler(_worker_plugin_names)
            if self.plugin not in names:
                self.client.register_plugin(SandboxPlugin(limits), name=self.plugin)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "GradingCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnects; a `local:N` cluster is shut down (its workers close their sandboxes)."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def workers(self) -> list[str]:
        """The addresses of the workers connected now."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def isolation(self) -> Isolation:
        """The weakest isolation among the workers connected now (waits for their templates)."""
        futures = [self.client.submit(worker_isolation, self.plugin, workers=[w], allow_other_workers=False,
                                      pure=False, key=f"isolation-{w}-{uuid.uuid4().hex[:8]}")
                   for w in self.workers()]
        return weakest([Isolation.from_dict(d) for d in self.client.gather(futures)])

    def run_many(self, jobs: list[Job], on_result: Callable[[int, RunResult], None] | None = None,
                 labels: list[str] | None = None) -> list[RunResult]:
        """Runs the jobs on the workers, as `Sandbox.run_many` does on this machine.

        Args:
            jobs: one per submission (`Grader` builds them; expected values never leave the client).
            on_result: called with (index, result) as each job finishes, in this thread.
            labels: a name per job (the submission's) for the task keys that the
                dashboard and the worker logs show.

        Returns:
            The results, in the order of `jobs`. A job whose task failed on the
            cluster, or whose result cannot be read, gets a stopped result that says why.
        """
        results: list[RunResult | None] = [None] * len(jobs)
        pending: dict[Any, int] = {}
        try:
            for i, job in enumerate(jobs):
                future = self.client.submit(run_on_worker, job.to_dict(), self.plugin, pure=False, retries=0,
                                            key=task_key(i, labels[i] if labels else "job"))
                pending[future] = i
            for future in distributed.as_completed(list(pending), loop=self.client.loop):
                i = pending.pop(future)
                results[i] = self._run_result(future, jobs[i])
                future.release()
                if on_result is not None:
                    on_result(i, results[i])  # type: ignore[arg-type]
        finally:
            if pending:
                self.client.cancel(list(pending))
        return results  # type: ignore[return-value]

    @staticmethod
    def _run_result(future: Any, job: Job) -> RunResult:
        """The finished task's `RunResult`; a failed task or a malformed result becomes a stopped one."""
        try:
            data = future.result()
        except distributed.KilledWorker as exc:
            return stopped(job, "crashed", f"it stopped {exc.allowed_failures + 1} Dask workers (each died while "
                                           "running it); not retried further", 0.0)
        except Exception as exc:  # noqa: BLE001 - this submission's row says why
            return stopped(job, "crashed", f"the cluster could not run it: {type(exc).__name__}: {exc}", 0.0)
        try:
            run = RunResult.decode(data)
            if len(run.calls) != len(job.calls) or set(run.cells) - {c.exercise for c in job.cells}:
                raise ValueError("the result does not match the job")
        except Exception as exc:  # noqa: BLE001 - ProtocolError, or anything a malformed dict raises
            return stopped(job, "protocol", f"the worker's result could not be read: {exc}", 0.0)
        return run


def _worker_plugin_names(dask_scheduler: Any) -> list[str]:
    return list(getattr(dask_scheduler, "worker_plugins", {}))


def grade_on_cluster(
    grader: "Grader",
    paths: list[Path],
    scheduler: str,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[SubmissionResult], None] | None = None,
) -> list[SubmissionResult]:
    """Grades a class on a Dask cluster: `grader.grade(paths, GradingCluster(scheduler, ...))`.

    Args:
        grader: an `autograder.grading.pipeline.Grader`.
        paths: the submitted notebooks.
        scheduler: a scheduler address, or `local:N`.
        progress, on_result: as for `Grader.grade`.

    Returns:
        The results, in the order of `paths`.
    """
    with GradingCluster(scheduler, grader.config.limits) as cluster:
        return grader.grade(paths, cluster, progress, on_result)
