"""nbgrader side of `bench/grading.py`: its own virtual environment, and our notebooks in its format.

`ensure_venv` builds `build/nbgrader-venv` (nbgrader, tensorflow-cpu, ipykernel, ...)
once and reuses it (stamp file). `to_nbgrader` converts one of our notebooks
(reference or submission) to nbgrader's format: graded cells become solution
cells and each is followed by an autograder-tests cell that recomputes the
reference's outputs for that exercise's cases (inputs and expected values
embedded as plain data; hidden cases inside `### BEGIN HIDDEN TESTS`).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.grading.locate import CASES, GRADED, SOLUTION_ONLY_TAG, first_line  # noqa: E402
from autograder.authoring.spec import Assignment, call_spec  # noqa: E402

VENV = ROOT / "build" / "nbgrader-venv"
REQUIREMENTS = [
    "nbgrader==0.9.*",
    "tensorflow-cpu==2.21.*",
    "numpy",
    "ipykernel",
    "matplotlib",
    "nbformat",
]


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = VENV, log=print) -> Path:
    """Creates (once) a separate venv with nbgrader and TensorFlow; returns its python.

    The course's own packages (`course`, `autograder`, imported by the
    notebooks' `check(...)` and demo cells) are put on its path with a `.pth`
    file, so the kernel nbgrader starts can run every cell of the notebook.
    """
    stamp = venv / ".bench-stamp"
    wanted = json.dumps({"requirements": REQUIREMENTS, "root": str(ROOT)})
    python = venv_python(venv)
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python
    log(f"setting up {venv} (nbgrader + tensorflow-cpu from pip; a few minutes, once)")
    if not python.exists():
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    Path(site, "keras_seq_course_bench.pth").write_text(str(ROOT) + "\n")
    stamp.write_text(wanted)
    return python


def venv_env(venv: Path = VENV) -> dict:
    """Environment for nbgrader (inherited by the kernels it starts)."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    # TensorFlow's start-up lines on stderr would make nbgrader mark correct cells as failed.
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["KERAS_BACKEND"] = "tensorflow"
    env["PYTHONHASHSEED"] = "0"
    return env


TEST_HELPERS = '''\
import base64 as _b64, json as _json
import numpy as _np
import tensorflow as _tf


def _nbg_plain(v, tensors=False):
    if isinstance(v, dict) and "__array__" in v:
        a = _np.frombuffer(_b64.b64decode(v["__array__"]), dtype=v["dtype"]).reshape(v["shape"])
        return _tf.constant(a) if tensors and a.dtype.kind in "fiub" else a
    if isinstance(v, dict) and "__seq__" in v:
        items = [_nbg_plain(x, tensors) for x in v["items"]]
        return tuple(items) if v["__seq__"] == "tuple" else items
    return v


def _nbg_same(got, want, rtol, atol, where):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)), f"{where}: expected a {type(want).__name__}, got {type(got).__name__}"
        assert len(got) == len(want), f"{where}: expected {len(want)} items, got {len(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            _nbg_same(g, w, rtol, atol, f"{where}[{i}]")
        return
    got, want = _np.asarray(got), _np.asarray(want)
    assert got.shape == want.shape, f"{where}: shape {got.shape}, expected {want.shape}"
    _np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=where)


def _nbg_check(fn, cases):
    for case in cases:
        args = [_nbg_plain(a, case["tensors"]) for a in case["args"]]
        kwargs = {k: _nbg_plain(v, case["tensors"]) for k, v in case["kwargs"].items()}
        _nbg_same(fn(*args, **kwargs), _nbg_plain(case["expected"]), case["rtol"], case["atol"], case["case"])
'''


def test_cell_source(assignment: Assignment, exercise_name: str, expected: dict) -> str:
    """An nbgrader autograder-tests cell for one exercise.

    Args:
        expected: `(exercise, case) -> plain output` of the reference (our sandbox's result).
    """
    ex = assignment.exercise(exercise_name)
    public, hidden = [], []
    for case in ex.cases:
        spec = call_spec(assignment.id, ex, case)
        item = {"case": case.name, "args": spec["args"], "kwargs": spec["kwargs"], "tensors": case.tensors,
                "rtol": case.rtol, "atol": case.atol, "expected": expected[(ex.name, case.name)]}
        (hidden if case.hidden else public).append(item)
    lines = [f"# nbgrader tests for `{ex.name}`: {len(public)} public, {len(hidden)} hidden case(s)", TEST_HELPERS,
             f"_nbg_check({ex.name}, _json.loads(r'''{json.dumps(public)}'''))"]
    if hidden:
        lines += ["### BEGIN HIDDEN TESTS", f"_nbg_check({ex.name}, _json.loads(r'''{json.dumps(hidden)}'''))",
                  "### END HIDDEN TESTS"]
    return "\n".join(lines) + "\n"


def to_nbgrader(nb: nbformat.NotebookNode, assignment: Assignment, tests: dict[str, str]) -> nbformat.NotebookNode:
    """Our notebook (reference or submission) in nbgrader's format.

    Drops the CASES cell and solution-only cells; every `# GRADED: name` code
    cell gets solution metadata and is followed by the `test_<name>` cell.
    """
    points = {e.name: e.points for e in assignment.exercises}
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        line = first_line(cell.source)
        if cell.cell_type == "code" and (CASES.match(line) or SOLUTION_ONLY_TAG in cell.metadata.get("tags", [])):
            continue
        cell.metadata.pop("nbgrader", None)
        match = GRADED.match(line) if cell.cell_type == "code" else None
        if match and match.group(1) in tests:
            name = match.group(1)
            cell.metadata["nbgrader"] = {"solution": True, "grade": False, "task": False, "grade_id": name,
                                         "locked": False, "schema_version": 3}
            cells.append(cell)
            test = nbformat.v4.new_code_cell(tests[name])
            test.metadata["nbgrader"] = {"solution": False, "grade": True, "task": False, "grade_id": f"test_{name}",
                                         "points": points[name], "locked": True, "schema_version": 3}
            cells.append(test)
            continue
        cells.append(cell)
    out.cells = cells
    for cell in out.cells:  # fresh ids: nbgrader wants them unique
        cell.pop("id", None)
    out.nbformat, out.nbformat_minor = 4, 4
    return out


def write_course(course: Path, assignment_id: str, reference_nb: nbformat.NotebookNode, timeout_s: int) -> None:
    """A fresh nbgrader course directory holding `source/<id>/<id>.ipynb`."""
    (course / "source" / assignment_id).mkdir(parents=True, exist_ok=True)
    nbformat.write(reference_nb, course / "source" / assignment_id / f"{assignment_id}.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        f"c.Execute.timeout = {int(timeout_s)}\n"
        f"c.ExecutePreprocessor.timeout = {int(timeout_s)}\n"
        "c.ExecutePreprocessor.kernel_name = 'python3'\n"
    )


GRADES_SCRIPT = """
import json, sys
from nbgrader.api import Gradebook
out = {}
with Gradebook(sys.argv[1]) as gb:
    for student in gb.students:
        try:
            sub = gb.find_submission(sys.argv[2], student.id)
        except Exception:
            continue
        nb = sub.notebooks[0]
        out[student.id] = {"score": sub.score, "max": sub.max_score,
                           "cells": {g.name: g.score for g in nb.grades}}
print(json.dumps(out))
"""


def read_grades(python: Path, course: Path, assignment_id: str) -> dict:
    """`student -> {"score", "max", "cells"}` from the course's gradebook."""
    db = f"sqlite:///{course / 'gradebook.db'}"
    res = subprocess.run([str(python), "-c", GRADES_SCRIPT, db, assignment_id], capture_output=True, text=True,
                         env=venv_env(), cwd=course)
    if res.returncode != 0:
        raise RuntimeError(f"reading nbgrader's gradebook failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout)
