"""Grading a class on Dask workers (`autograder grade --scheduler`): the same gradebook as one machine.

One `LocalCluster` of two workers serves the first three tests (through its
address, as an instructor's own cluster would); the CLI test starts its own
with `--scheduler local:2`. A test-only worker plugin kills its worker
whenever a task for a submission named `doomed...` starts, which stands for a
submission that takes down every worker it touches (the sandbox itself never
lets a job kill its worker).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook
from autograder.authoring.student import strip_solutions
from autograder.cli import main
from autograder.grading.cluster import ALLOWED_FAILURES, grade_on_cluster, start_local_cluster
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.reports.writer import ReportWriter
from autograder.run import Limits

LIMITS = Limits(timeout_s=8, memory_mb=400, cpu_s=20)  # as conftest's `sandbox`
SLEEPY_ADD_ONE = ADD_ONE.replace("def add_one", "import time\ntime.sleep(2)\ndef add_one", 1)
DOOMED = "doomed"

try:
    from distributed import WorkerPlugin
except ImportError:  # the module still imports; the tests that need a cluster fail in their fixture
    WorkerPlugin = object


class KillOnMarker(WorkerPlugin):
    """Test only: SIGKILLs its own worker when a task whose key names `marker` starts executing."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and self.marker in str(key):
            os.kill(os.getpid(), signal.SIGKILL)


def sub(*cells):
    return notebook(SETUP, *cells)


def write_class(folder: Path, notebooks: dict) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, nb in notebooks.items():
        path = folder / f"{name}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def class_paths(tmp_path_factory) -> list[Path]:
    return write_class(tmp_path_factory.mktemp("dask-class"), {
        "full": sub(ADD_ONE, SCALED_SUM),
        "blank": sub(strip_solutions(ADD_ONE), strip_solutions(SCALED_SUM)),
        "wrong": sub("# GRADED: add_one\ndef add_one(x):\n    return x + 2", SCALED_SUM),
        "half": sub(ADD_ONE, strip_solutions(SCALED_SUM)),
        "syntax": sub("# GRADED: add_one\ndef add_one(x)\n    return x + 1", SCALED_SUM),
        "deleted": sub(SCALED_SUM),
        "not_a_notebook": b"\x89PNG\r\n\x1a\n" + bytes(300),
    })


@pytest.fixture(scope="module")
def cluster():
    """A two-worker LocalCluster (with the test-only killer plugin); yields its address."""
    from distributed import Client

    with start_local_cluster(2) as local:
        with Client(local, set_as_default=False) as client:
            client.register_plugin(KillOnMarker(DOOMED), name="test-kill-on-marker")
        yield local.scheduler_address


@pytest.fixture(scope="module")
def local_results(tiny_solutions, class_paths, sandbox):
    return Grader(GradeConfig(tiny_solutions, limits=LIMITS)).grade(class_paths, sandbox)


def plain(results) -> list[dict]:
    """Results as dicts, without what differs between runs: wall time and the leaderboard's timings."""
    rows = [{k: v for k, v in r.to_dict().items() if k not in ("wall_s", "leaderboard")} for r in results]
    for r, row in zip(results, rows):
        row["leaderboard"] = [(e.name, e.order) for e in r.leaderboard]  # who got an entry must match
    return rows


def gradebook_rows(results, out: Path) -> list[dict]:
    writer = ReportWriter(out)
    for r in results:
        writer.add(r)
    return read_gradebook(writer.finish())


def read_gradebook(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: row["submission"])


@pytest.mark.slow
def test_a_class_on_two_workers_matches_one_machine(tiny_solutions, class_paths, local_results, cluster, tmp_path):
    seen = []
    remote = grade_on_cluster(Grader(GradeConfig(tiny_solutions, limits=LIMITS)), class_paths, cluster,
                              progress=lambda done, total: seen.append((done, total)), on_result=lambda r: None)
    assert [r.submission for r in remote] == [p.stem for p in class_paths]
    assert plain(remote) == plain(local_results)
    assert gradebook_rows(remote, tmp_path / "remote") == gradebook_rows(local_results, tmp_path / "local")
    assert seen[-1] == (len(class_paths), len(class_paths)) and len(seen) == len(class_paths)
    by_name = {r.submission: r for r in remote}
    assert by_name["full"].points == by_name["full"].max_points > 0
    assert by_name["blank"].points == 0 and by_name["not_a_notebook"].problem


@pytest.mark.slow
def test_a_worker_killed_mid_class_costs_no_submission(tiny_solutions, cluster, tmp_path):
    from distributed import Client

    paths = write_class(tmp_path / "class", {
        **{f"sleepy{i}": sub(SLEEPY_ADD_ONE, SCALED_SUM) for i in range(4)},
        "blank": sub(strip_solutions(ADD_ONE), strip_solutions(SCALED_SUM)),
    })
    killed: list[int] = []

    def kill_one_worker_mid_task(client: Client) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if any("sleepy" in str(k) for k in keys)]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                time.sleep(0.5)  # inside its 2 s sleep (or still warming its sandbox)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    grader = Grader(GradeConfig(tiny_solutions, limits=LIMITS, step_floor_s=6.0))
    with Client(cluster, set_as_default=False) as client:
        killer = threading.Thread(target=kill_one_worker_mid_task, args=(client,))
        killer.start()
        results = grade_on_cluster(grader, paths, cluster)
        killer.join()
    assert killed, "no worker was killed: the test did not test anything"
    for r in results:
        assert r.problem == "", (r.submission, r.problem)
        expected = 0 if r.submission == "blank" else r.max_points
        assert r.points == expected and r.max_points > 0, r.submission


@pytest.mark.slow
def test_a_submission_that_kills_every_worker_ends_after_bounded_tries(tiny_solutions, cluster, tmp_path):
    paths = write_class(tmp_path / "class", {
        "full": sub(ADD_ONE, SCALED_SUM),
        f"{DOOMED}_one": sub(ADD_ONE, SCALED_SUM),
        "blank": sub(strip_solutions(ADD_ONE), strip_solutions(SCALED_SUM)),
    })
    start = time.monotonic()
    results = {r.submission: r for r in grade_on_cluster(Grader(GradeConfig(tiny_solutions, limits=LIMITS)),
                                                         paths, cluster)}
    assert time.monotonic() - start < 60
    doomed = results[f"{DOOMED}_one"]
    assert f"it stopped {ALLOWED_FAILURES + 1} Dask workers" in doomed.problem
    assert "not retried further" in doomed.problem
    assert doomed.points == 0 and doomed.max_points > 0 and doomed.exercises
    assert results["full"].points == results["full"].max_points and results["full"].problem == ""
    assert results["blank"].points == 0 and results["blank"].problem == ""


@pytest.mark.slow
def test_cli_on_a_local_cluster_prints_isolation_and_writes_the_same_gradebook(
        tiny_solutions, class_paths, local_results, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["grade", *map(str, class_paths), "--out", str(out), "--solutions", str(tiny_solutions),
               "--scheduler", "local:2", "--timeout", str(LIMITS.timeout_s), "--memory-mb", str(LIMITS.memory_mb)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert printed.splitlines()[0].startswith("isolation: ")
    assert read_gradebook(out / "gradebook.csv") == gradebook_rows(local_results, tmp_path / "local")
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["scheduler"] == "local:2" and settings["workers"] == 2
    assert json.loads((out / "run.json").read_text())["isolation_line"] == printed.splitlines()[0]


def test_without_distributed_the_flag_says_how_to_install_it(tiny_solutions, tmp_path):
    (tmp_path / "x.ipynb").write_text("{}")
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from autograder.cli import main\n"
            f"sys.exit(main(['grade', {str(tmp_path / 'x.ipynb')!r}, '--out', {str(tmp_path)!r}, '--solutions', "
            f"{str(tiny_solutions)!r}, '--scheduler', 'local:2']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert res.returncode == 2, res.stderr
    assert 'pip install "keras-seq-course[dask]"' in res.stderr
