"""The one grading driver: a class graded on this machine's sandbox or on Dask workers (grading process).

`autograder grade` (with or without `--scheduler`), the Gradescope entry point
and the grading bench all grade through `GradingSession`: it loads the class's
references (stored with the solutions, or run while the runner warms up: on the
local pool, as the pool's first jobs, each its own process, before any
student's), says which isolation is in force, and grades with `Grader.grade`, which hands each job to
the runner's `run_many(jobs, on_result=..., labels=...)`. The local pool
(`autograder.run.Sandbox`) and the cluster (`autograder.grading.cluster.GradingCluster`)
both offer that method, so locating, scoring and reporting never know where
the students' code ran.

Example:

```python
config = GradeConfig(Path("solutions"), jobs=2)
with GradingSession(config, paths, deny_paths=["out"]) as session:
    print(session.isolation().describe())
    results = session.grade(on_result=print)
```
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from autograder.grading.settings import GradeConfig
from autograder.reports.results import SubmissionResult
from autograder.run import Isolation, Job, RunResult, Sandbox

if TYPE_CHECKING:
    from types import TracebackType

    from autograder.grading.pipeline import Grader


class Runner(Protocol):
    """Where the students' jobs run: `Sandbox` (this machine) or `GradingCluster` (Dask workers)."""

    def run_many(self, jobs: list[Job], on_result: Callable[[int, RunResult], None] | None = None,
                 labels: list[str] | None = None) -> list[RunResult]: ...

    def isolation(self) -> Isolation: ...

    def __enter__(self) -> "Runner": ...

    def __exit__(self, *exc: object) -> None: ...


def open_runner(config: GradeConfig, scheduler: str | None = None, deny_paths: list[str] | None = None,
                submissions: int | None = None) -> Runner:
    """The runner a class is graded on: Dask workers for `scheduler`, else a local pool.

    Args:
        config: its `limits` apply to every job; its `jobs` is the local pool's size.
        scheduler: a Dask scheduler address or `local:N` (needs the `[dask]` extra).
        deny_paths: folders no job on the local pool may read, whatever the job says.
        submissions: how many submissions the class has, when known: the local pool starts no more
            templates than that (each imports TensorFlow, which a one-submission run would wait on).

    Raises:
        autograder.grading.cluster.ClusterUnavailable: `distributed` is missing, or no worker joined.
    """
    if scheduler:
        from autograder.grading.cluster import GradingCluster

        return GradingCluster(scheduler, config.limits)
    workers = max(1, min(config.jobs, submissions) if submissions else config.jobs)
    return Sandbox(config.limits, workers=workers, deny_paths=list(deny_paths or []))


class GradingSession:
    """A class's grading session: its grader, its warm runner and its references.

    Args:
        config: how the class is graded (defaults in `GradeConfig` and `Limits`).
        paths: the submitted notebooks.
        scheduler: grade on these Dask workers (see `open_runner`); default: this machine.
        deny_paths: folders no job may read besides the solutions and the class's
            own folders (the output folder, for example).
        sandbox_deny: folders the local pool refuses to every job, whatever the job says.
    """

    def __init__(self, config: GradeConfig, paths: list[Path], scheduler: str | None = None,
                 deny_paths: list[str] | None = None, sandbox_deny: list[str] | None = None) -> None:
        self.config = config
        self.paths = [Path(p) for p in paths]
        self.scheduler = scheduler
        self._deny = list(deny_paths or [])
        self._sandbox_deny = list(sandbox_deny or [])
        self._stack = ExitStack()
        self.runner: Runner | None = None
        self.grader: Grader | None = None

    def __enter__(self) -> "GradingSession":
        try:
            # The runner first: its templates import TensorFlow while this process imports the
            # pipeline, reads the references and loads their stored results (or runs them).
            self.runner = self._stack.enter_context(open_runner(self.config, self.scheduler, self._sandbox_deny,
                                                                len(self.paths)))
            from autograder.grading.pipeline import Grader
            from autograder.grading.reference import runs_in

            self.grader = Grader(self.config, deny_paths=self._deny)
            # A reference with no stored results runs as the local pool's first job (its own process,
            # before any student's job), not in a second sandbox that would import TensorFlow again.
            with runs_in(self.runner if isinstance(self.runner, Sandbox) else None):
                self.grader.load_references(self.paths)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: "TracebackType | None") -> None:
        self._stack.close()

    def isolation(self) -> Isolation:
        """The isolation in force around every job (the weakest worker's, on a cluster)."""
        return self._open().isolation()

    def workers(self) -> int:
        """How many jobs run at once: the pool's size, or the cluster's workers connected now."""
        runner = self._open()
        listed = getattr(runner, "workers", None)
        return len(listed()) if callable(listed) else int(listed or 1)

    def grade(self, progress: Callable[[int, int], None] | None = None,
              on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
        """Grades the class (see `Grader.grade`); the results, in the order of the paths."""
        runner = self._open()
        if self.grader is None:  # set with the runner
            raise RuntimeError("use the GradingSession in a `with` block")
        return self.grader.grade(self.paths, runner, progress, on_result)

    def _open(self) -> Runner:
        if self.runner is None:
            raise RuntimeError("use the GradingSession in a `with` block")
        return self.runner


def grade_class(config: GradeConfig, paths: list[Path], scheduler: str | None = None,
                progress: Callable[[int, int], None] | None = None,
                on_result: Callable[[SubmissionResult], None] | None = None,
                deny_paths: list[str] | None = None) -> list[SubmissionResult]:
    """Grades a class in one call: a `GradingSession` opened, graded and closed.

    Returns:
        The results, in the order of `paths`.
    """
    with GradingSession(config, paths, scheduler, deny_paths) as session:
        return session.grade(progress, on_result)
