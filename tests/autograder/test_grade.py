"""Grading a class of submissions that misbehave in every way we know of.

One grading run over all of them (a broken submission never stops the
class), then one assertion group per kind of trouble.
"""

import json
from pathlib import Path

import nbformat
import pytest

from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook
from autograder.authoring.student import strip_solutions
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.reports.writer import write_reports
from autograder.run import Limits

ADD_ONE_STUB = strip_solutions(ADD_ONE)
SCALED_SUM_STUB = strip_solutions(SCALED_SUM)


def sub(*cells):
    return notebook(SETUP, *cells)


def submissions(solutions: Path, out_dir: Path) -> dict:
    solution_file = solutions / "T1.ipynb"
    return {
        "full": sub(ADD_ONE, SCALED_SUM),
        "blank": sub(ADD_ONE_STUB, SCALED_SUM_STUB),
        "syntax": sub("# GRADED: add_one\ndef add_one(x)\n    return x + 1", SCALED_SUM),
        "raises": sub("# GRADED: add_one\nraise RuntimeError('boom')", SCALED_SUM),
        "wrong": sub("# GRADED: add_one\ndef add_one(x):\n    return x + 2", SCALED_SUM),
        "float64": sub("# GRADED: add_one\ndef add_one(x):\n    return tf.cast(x, tf.float64) + 1", SCALED_SUM),
        "loops": sub("# GRADED: add_one\ndef add_one(x):\n    while True:\n        pass", SCALED_SUM),
        "loops_at_top": sub(ADD_ONE, "# GRADED: scaled_sum\nwhile True:\n    pass"),
        "loops_stubbornly": sub("# GRADED: add_one\ndef add_one(x):\n    while True:\n        try:\n            while True:\n"
                                "                pass\n        except BaseException:\n            pass", SCALED_SUM),
        "overruns_quietly": sub("# GRADED: add_one\nimport time\ndef add_one(x):\n    try:\n        time.sleep(30)\n"
                                "    except BaseException:\n        pass\n    return x + 1", SCALED_SUM),
        "cell_overruns_quietly": sub(ADD_ONE, "# GRADED: scaled_sum\nimport time\ntry:\n    time.sleep(30)\n"
                                     "except BaseException:\n    pass\n" + SCALED_SUM.split("\n", 1)[1]),
        "cancels_cpu_limit": sub("# GRADED: add_one\nimport signal\ndef add_one(x):\n"
                                 "    signal.setitimer(signal.ITIMER_PROF, 0)\n    while True:\n        pass", SCALED_SUM),
        "ignores_cpu_limit": sub("# GRADED: add_one\nimport signal\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
                                 "def add_one(x):\n    while True:\n        pass", SCALED_SUM),
        "waits": sub("# GRADED: add_one\nimport time\ndef add_one(x):\n    time.sleep(0.45)\n    return x + 1", SCALED_SUM),
        "memory": sub("# GRADED: add_one\nx = bytearray(64 * 2**30)\n" + ADD_ONE, SCALED_SUM),
        "memory_growth": sub("# GRADED: add_one\nblocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))", SCALED_SUM),
        "sys_exit": sub("# GRADED: add_one\nimport sys\nsys.exit(0)", SCALED_SUM),
        "os_exit": sub(ADD_ONE, "# GRADED: scaled_sum\nimport os\nos._exit(0)"),
        "flood": sub("# GRADED: add_one\nprint('x' * 10_000_000)\nfor _ in range(200_000):\n    print('spam')\n" + ADD_ONE, SCALED_SUM),
        "deleted": sub(SCALED_SUM),
        "duplicated": sub("# GRADED: add_one\ndef add_one(x):\n    return x", ADD_ONE, SCALED_SUM),
        "reordered": sub(SCALED_SUM, ADD_ONE),
        "renamed": sub("# GRADED: add_uno\n" + ADD_ONE.split("\n", 1)[1], SCALED_SUM),
        "markdown": sub("MD:" + ADD_ONE, SCALED_SUM),
        "patch_numpy": sub("# GRADED: add_one\nimport numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda a, b, **k: numpy.ones_like(a, dtype=bool)\n"
                           "def add_one(x):\n    return x", SCALED_SUM),
        "patch_tf": sub("# GRADED: add_one\ntf.add = lambda a, b, name=None: a\ndef add_one(x):\n    return tf.add(x, 1.0)", SCALED_SUM),
        "patch_grader": sub("# GRADED: add_one\nimport autograder.grading.compare, autograder.grading.judge\n"
                            "autograder.grading.compare.compare = lambda *a, **k: None\nautograder.judge.compare_call = lambda *a, **k: (True, 'passed')\n"
                            "def add_one(x):\n    return x", SCALED_SUM),
        "liar": sub("# GRADED: add_one\nclass Liar:\n    def __eq__(self, other): return True\n"
                    "    def __array__(self, dtype=None, copy=None): return np.zeros(3, 'float32')\n"
                    "def add_one(x):\n    return Liar()", SCALED_SUM),
        "reads_solution": sub(f"# GRADED: add_one\nsource = open({str(solution_file)!r}).read()\n" + ADD_ONE, SCALED_SUM),
        "writes_output": sub(f"# GRADED: add_one\nopen({str(out_dir / 'gradebook.csv')!r}, 'w').write('all: 100')\n" + ADD_ONE, SCALED_SUM),
    }


@pytest.fixture(scope="module")
def graded(tiny_solutions, sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    out_dir = tmp_path_factory.mktemp("out")
    paths = []
    for name, nb in submissions(tiny_solutions, out_dir).items():
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    stripped = notebook(SETUP, ADD_ONE, SCALED_SUM)
    stripped.metadata = {}
    for cell in stripped.cells:
        cell.metadata = {}
    nbformat.write(stripped, folder / "no_metadata.ipynb")
    (folder / "truncated.ipynb").write_text(nbformat.writes(stripped)[:200])
    (folder / "not_a_notebook.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (folder / "essay.ipynb").write_text("My answers are in the PDF.")
    paths += [folder / n for n in ("no_metadata.ipynb", "truncated.ipynb", "not_a_notebook.ipynb", "essay.ipynb")]
    grader = Grader(GradeConfig(tiny_solutions, None, 2, Limits(timeout_s=8, memory_mb=400, cpu_s=20)),
                    deny_paths=[str(out_dir)])
    results = grader.grade(paths, sandbox)
    write_reports(results, out_dir)
    return {r.submission: r for r in results}, out_dir


def ex(results, submission, exercise):
    return next(e for e in results[submission].exercises if e.name == exercise)


FULL = 6.0  # add_one: 1 + 1 + 2, scaled_sum: 1 + 1


def test_reference_scores_full_marks_and_blank_scores_zero(graded):
    results, _ = graded
    assert results["full"].points == FULL == results["full"].max_points
    assert results["blank"].points == 0
    for e in results["blank"].exercises:
        assert all("not implemented yet" in c.message for c in e.cases)


def test_syntax_error_and_exception_are_per_exercise(graded):
    results, _ = graded
    assert ex(results, "syntax", "add_one").points == 0
    assert "SyntaxError" in ex(results, "syntax", "add_one").cases[0].message
    assert ex(results, "raises", "add_one").points == 0
    assert "RuntimeError: boom" in ex(results, "raises", "add_one").cases[0].message
    assert "add_one' is not defined" in ex(results, "syntax", "scaled_sum").cases[0].message


def test_wrong_values_and_wrong_dtype_explain_themselves(graded):
    results, _ = graded
    wrong = ex(results, "wrong", "add_one")
    assert wrong.points == 0
    assert "first at index (0,)" in wrong.cases[0].message and "max error 1" in wrong.cases[0].message
    hidden = [c for c in wrong.cases if c.hidden][0]
    assert "expected" not in hidden.message  # hidden: no values shown
    assert "dtype float32, got float64" in ex(results, "float64", "add_one").cases[0].message
    # scaled_sum calls the student's own add_one, so it inherits the mistake, and says why
    assert "expected" in ex(results, "wrong", "scaled_sum").cases[0].message


@pytest.mark.parametrize("name, exercise", [("loops", "add_one"), ("loops_at_top", "scaled_sum")])
def test_an_infinite_loop_costs_its_own_step_only(graded, name, exercise):
    results, _ = graded
    assert results[name].problem == ""  # stopped by the step's own limit, not the submission's
    assert results[name].wall_s < 8  # the submission's wall-clock limit in this test
    looping = ex(results, name, exercise)
    assert looping.points == 0 and "ran past its time limit" in looping.cases[0].message
    # a check meets its CPU-time limit, well before the wall-clock one; a cell's top level has the wall-clock one only
    assert ("s of computing" in looping.cases[0].message) == (name == "loops"), looping.cases[0].message
    assert "earlier check of this exercise ran out of time" in looping.cases[-1].message or name == "loops_at_top"
    if name == "loops_at_top":  # what finished before the loop keeps its points
        assert ex(results, name, "add_one").points == 4


@pytest.mark.parametrize("name", ["cancels_cpu_limit", "ignores_cpu_limit"])
def test_a_loop_that_switches_off_its_cpu_limit_meets_the_wall_clock_one(graded, name):
    results, _ = graded
    looping = ex(results, name, "add_one")
    assert looping.points == 0 and "ran past its time limit" in looping.cases[0].message, looping.cases[0].message
    assert "s of computing" not in looping.cases[0].message
    assert results[name].problem == "" and ex(results, name, "scaled_sum").points == 0  # scaled_sum calls add_one


def test_waiting_is_not_computing(graded):
    """A step that waits past its CPU limit (0.3 s here) but within its wall-clock one (1 s) keeps its points."""
    results, _ = graded
    assert ex(results, "waits", "add_one").points == 4 and results["waits"].points == FULL, results["waits"].exercises


@pytest.mark.parametrize("name, exercise", [("overruns_quietly", "add_one"), ("cell_overruns_quietly", "scaled_sum")])
def test_a_step_that_catches_its_stop_once_and_goes_on_still_ran_out_of_time(graded, name, exercise):
    """Caught once, the stop lets a right answer come back past the limit: it earns nothing, as a loop would."""
    results, _ = graded
    late = ex(results, name, exercise)
    assert late.max_points > 0 and late.points == 0, late.message
    assert "ran past its time limit" in late.cases[0].message, late.cases[0].message
    assert "s of computing" not in late.cases[0].message  # it sleeps: the wall-clock limit stopped it
    assert "earlier check of this exercise ran out of time" in late.cases[-1].message or name.startswith("cell")
    if name.startswith("cell"):
        assert ex(results, name, "add_one").points == 4
    assert results[name].problem == ""  # stopped by the step's own limit, not the submission's


def test_a_loop_that_swallows_the_step_limit_meets_the_submission_limit(graded):
    results, _ = graded
    assert "time limit" in results["loops_stubbornly"].problem
    assert results["loops_stubbornly"].points == 0


@pytest.mark.parametrize("name", ["memory", "memory_growth"])
def test_memory_bombs_are_stopped(graded, name):
    results, _ = graded
    e = ex(results, name, "add_one")
    assert e.points == 0
    stopped = ("MemoryError" in e.cases[0].message or "memory" in results[name].problem
               or "ran past its time limit" in e.cases[0].message)  # growing slowly: the step's clock wins
    assert stopped, e.cases[0].message


def test_exits_lose_only_what_came_after(graded):
    results, _ = graded
    assert ex(results, "sys_exit", "add_one").points == 0
    assert "SystemExit" in ex(results, "sys_exit", "add_one").cases[0].message
    assert ex(results, "sys_exit", "scaled_sum").points == 0  # needs add_one
    assert ex(results, "os_exit", "scaled_sum").points == 0
    assert "ended" in results["os_exit"].problem or "exit" in results["os_exit"].problem


def test_output_flood_is_truncated_and_graded(graded):
    results, _ = graded
    assert results["flood"].points == FULL
    assert len(results["flood"].output) < 100_000


def test_cell_layout_changes(graded):
    results, _ = graded
    assert results["reordered"].points == FULL
    assert results["no_metadata"].points == FULL
    assert results["duplicated"].points == FULL and "last one" in ex(results, "duplicated", "add_one").note
    assert ex(results, "deleted", "add_one").points == 0
    assert "no code cell starting with `# GRADED: add_one`" in ex(results, "deleted", "add_one").cases[0].message
    assert "needs `add_one`" in ex(results, "deleted", "scaled_sum").cases[0].message
    assert ex(results, "renamed", "add_one").points == 0 and "add_uno" in ex(results, "renamed", "add_one").cases[0].message
    assert "markdown" in ex(results, "markdown", "add_one").cases[0].message


@pytest.mark.parametrize("name", ["truncated", "not_a_notebook", "essay"])
def test_unreadable_files_score_zero_with_a_reason(graded, name):
    results, _ = graded
    assert results[name].points == 0 and "could not be read" in results[name].problem
    assert results[name].assignment == "" and results[name].exercises == []  # never filed under an assignment


@pytest.mark.parametrize("name", ["patch_numpy", "patch_tf", "patch_grader", "liar"])
def test_cheating_earns_nothing(graded, name):
    results, _ = graded
    assert ex(results, name, "add_one").points == 0, ex(results, name, "add_one").cases[0].message


def test_reading_solutions_and_writing_results_are_refused(graded):
    results, out_dir = graded
    assert ex(results, "reads_solution", "add_one").points == 0
    assert "PermissionError" in ex(results, "reads_solution", "add_one").cases[0].message
    assert ex(results, "writes_output", "add_one").points == 0
    assert "all: 100" not in (out_dir / "gradebook.csv").read_text()


def test_reports_are_written(graded):
    results, out_dir = graded
    data = json.loads((out_dir / "full" / "results.json").read_text())
    assert data["score"] == FULL and len(data["tests"]) == 5
    assert all(t["score"] == t["max_score"] for t in data["tests"])
    blank = json.loads((out_dir / "blank" / "results.json").read_text())
    assert blank["score"] == 0 and "hidden case 1" in " ".join(t["name"] for t in blank["tests"])
    feedback = (out_dir / "wrong" / "feedback.md").read_text()
    assert "Score: 0 / 6" in feedback and "first at index" in feedback and "Hidden cases count" in feedback
    rows = (out_dir / "gradebook.csv").read_text().splitlines()
    assert rows[0].startswith("submission,assignment,add_one,scaled_sum,total")
    assert len(rows) == 1 + len(results)
