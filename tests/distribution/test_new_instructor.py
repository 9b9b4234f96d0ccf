"""Plays a new instructor: the built wheel alone, in a fresh venv and an empty course folder.

`new` → `assign` → `release` (the handout ships the wheel its `make lab` installs) → `check()` in a
student's Python → `grade` (reference full marks, blank 0, a roster student missing) → `gradescope` →
the zip's `setup.sh` and `run_autograder` in a folder laid out like `/autograder` → `export canvas`;
nothing is written into site-packages.

To stay cheap on CI, the fresh venvs install only the wheel (`--no-deps`, from a local file) and see
the project's own TensorFlow, Keras and numpy through a `.pth` line naming `.venv`'s site-packages
(added after their own site-packages, so the wheel's `autograder` is the one imported). The zip's
`setup.sh` runs as written, with `--no-index`: its pinned requirements must already be satisfied.
"""

from __future__ import annotations

import csv
import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow
SHARED = site.getsitepackages()[0]  # this project's .venv: TensorFlow and the other dependencies


def venv_with_wheel(folder: Path, wheel: Path) -> Path:
    """A fresh venv holding only the wheel (no dependencies installed; they are seen through a .pth)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "zz_shared_dependencies.pth").write_text(SHARED + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return python


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if "__pycache__" not in p.parts}


class Instructor:
    def __init__(self, python: Path, course: Path) -> None:
        self.python, self.course = python, course
        self.env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                    "PATH": f"{python.parent}:{os.environ.get('PATH', '')}"}

    def run(self, *args: str, cwd: Path | None = None, timeout: int = 600) -> str:
        done = subprocess.run([str(self.python.parent / "autograder"), *args], capture_output=True, text=True,
                              cwd=cwd or self.course, env=self.env, timeout=timeout)
        assert done.returncode == 0, f"autograder {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return done.stdout


def student_kernel(python: Path, notebook: Path, reference: Path, folder: Path, env: dict) -> str:
    """Runs the released notebook's code cells with the reference's graded cell, as a student's kernel would."""
    graded = {c.source.splitlines()[0]: c.source for c in nbformat.read(reference, as_version=4).cells
              if c.cell_type == "code" and c.source.startswith("# GRADED:")}
    cells = [graded.get(c.source.splitlines()[0] if c.source else "", c.source)
             for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    script = folder / "kernel.py"
    script.write_text("ns = {'__name__': '__main__'}\n" + "".join(
        f"exec(compile({source!r}, 'cell{i}', 'exec'), ns)\n" for i, source in enumerate(cells)))
    done = subprocess.run([str(python), str(script)], capture_output=True, text=True, cwd=folder, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_new_instructor_runs_a_course_from_the_wheel_alone(built, tmp_path):
    python = venv_with_wheel(tmp_path / "venv", built["wheel"])
    course = tmp_path / "course"
    course.mkdir()
    me = Instructor(python, course)
    site_packages = Path(subprocess.run([str(python), "-c", "import autograder, os; print(os.path.dirname("
                                         "os.path.dirname(autograder.__file__)))"], capture_output=True, text=True,
                                        check=True, cwd=course, env=me.env).stdout.strip())
    assert site_packages.is_relative_to(tmp_path / "venv")  # the wheel's copy, not the checkout's
    before = files_under(site_packages)

    me.run("new", "A9")
    assert "public cases" in me.run("assign", "A9")
    me.run("release", "handout")
    handout = course / "handout" / "notebooks" / "A9.ipynb"
    assert handout.is_file()
    shipped = [p.name for p in (course / "handout" / "wheels").glob("*.whl")]  # what its `make lab` installs
    assert shipped == [built["wheel"].name] and (course / "handout" / "Makefile").is_file(), shipped

    student = tmp_path / "student"  # no course folder above it: the notebook alone carries the cases
    student.mkdir()
    printed = student_kernel(python, handout, course / "solutions" / "A9.ipynb", student, me.env)
    assert "tanh_step: 1/1 public cases passed" in printed and "1 more for this exercise" in printed

    for name, source in (("alice", course / "solutions" / "A9.ipynb"), ("bob", course / "notebooks" / "A9.ipynb")):
        (course / "submitted" / name / "A9").mkdir(parents=True)
        (course / "submitted" / name / "A9" / "A9.ipynb").write_bytes(source.read_bytes())
    (course / "roster.csv").write_text("file,student,canvas_id\n" + "".join(
        f"submitted/{name}/A9/A9.ipynb,{name},{n}\n" for n, name in enumerate(("alice", "bob", "carol"), 1)))
    summary = me.run("grade", "submitted/*/A9/*.ipynb", "--out", "grades-A9", "--roster", "roster.csv",
                     "--export", "canvas", "--canvas-column", "A9=A9: one RNN step (77)")
    assert "2 submissions graded" in summary and "1 roster student with no submission" in summary
    with (course / "grades-A9" / "gradebook.csv").open(newline="") as handle:
        book = {r["submission"]: r for r in csv.DictReader(handle)}
    assert (book["alice"]["total"], book["bob"]["total"], book["carol"]["total"]) == ("2", "0", "0")
    assert book["carol"]["problem"].startswith("missing")

    me.run("gradescope", "A9", "--out", "a9.zip")
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(course / "a9.zip") as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "hw.ipynb").write_bytes((course / "solutions" / "A9.ipynb").read_bytes())
    env = {**me.env, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_SETUP_PYTHON": sys.executable,
           "AUTOGRADER_PIP_FLAGS": "--no-index -q", "PYTHONPATH": SHARED}
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", str(root / "source" / script)], capture_output=True, text=True, env=env,
                              timeout=600)
        assert done.returncode == 0, f"{script}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 2 and results["execution_time"] > 0

    me.run("export", "grades-A9", "--roster", "roster.csv")  # a later export keeps the Canvas column
    canvas = (course / "grades-A9" / "canvas.csv").read_text().splitlines()
    assert canvas[0].endswith(",A9: one RNN step (77)") and canvas[-1].startswith("carol,3,") and \
        canvas[-1].endswith(",0")
    assert files_under(site_packages) == before, "something was written into site-packages"
