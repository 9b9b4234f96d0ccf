"""`autograder gradescope`: the zip, unpacked into a folder laid out like /autograder, grades a submission."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from autograder.authoring.student import strip_solutions
from autograder.cli import main
from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "data" / "gradescope_results.schema.json").read_text())


@pytest.fixture(scope="module")
def bundle(tiny_solutions, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "T1.zip"
    assert main(["gradescope", "T1", "--solutions", str(tiny_solutions), "--out", str(out),
                 "--hidden-visibility", "after_due_date"]) == 0
    return out


def test_the_zip_holds_what_gradescope_runs_and_one_reference(bundle, tiny_solutions):
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        mode = z.getinfo("run_autograder").external_attr >> 16
        config = json.loads(z.read("config.json"))
        requirements = z.read("requirements.txt").decode().splitlines()
    from autograder import __version__

    wheel = f"wheels/keras_seq_course-{__version__}-py3-none-any.whl"
    stored = "solutions/.autograder-cache/T1.json"  # every fresh container grades without rerunning the reference
    assert names == {"setup.sh", "run_autograder", "config.json", "solutions/T1.ipynb", "requirements.txt", wheel,
                     stored}
    with zipfile.ZipFile(bundle) as z:
        kept = json.loads(z.read(stored))
    from autograder.authoring.student import load_assignment
    from autograder.grading.reference import cache_key

    assert kept["key"] == cache_key(load_assignment(tiny_solutions / "T1.ipynb")) and kept["expected"]
    assert mode & 0o111 and config["hidden_visibility"] == "after_due_date" and config["hidden_details"] is False
    assert all("==" in line for line in requirements) and any(r.startswith("tensorflow-cpu==") for r in requirements)
    assert not [r for r in requirements if r.startswith(("tensorflow-datasets", "matplotlib", "pyarrow"))]
    with zipfile.ZipFile(bundle) as z, zipfile.ZipFile(io.BytesIO(z.read(wheel))) as w:
        inner = set(w.namelist())
    assert {"autograder/grading/gradescope.py", "course/__init__.py", "autograder/authoring/templates/setup.sh"} <= inner
    assert not [n for n in inner if "__pycache__" in n or n.endswith(".ipynb")]


def test_a_zip_that_cannot_install_is_never_written(tiny_solutions, tmp_path, monkeypatch, capsys):
    import autograder.authoring.bundle as bundle_module

    def broken(out_dir, root):
        raise ValueError("x.whl is not an installable keras-seq-course: refusing to write a zip that cannot install")

    monkeypatch.setattr(bundle_module, "build_wheel", broken)
    out = tmp_path / "T1.zip"
    assert main(["gradescope", "T1", "--solutions", str(tiny_solutions), "--out", str(out)]) == 2
    assert "refusing to write a zip" in capsys.readouterr().err and not list(tmp_path.iterdir())


def grade_in_autograder_folder(bundle: Path, root: Path, submission: nbformat.NotebookNode | None) -> dict:
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    if submission is not None:
        nbformat.write(submission, root / "submission" / "homework.ipynb")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "PYTHONPATH": str(HERE.parents[1])}
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data


def test_a_full_submission_scores_full_marks_with_hidden_cases_shown_after_the_due_date(bundle, tmp_path):
    data = grade_in_autograder_folder(bundle, tmp_path / "autograder", notebook(SETUP, ADD_ONE, SCALED_SUM))
    assert data["score"] == 6 and data["output_format"] == "md" and data["stdout_visibility"] == "hidden"
    hidden = [t for t in data["tests"] if "hidden case" in t["name"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    assert all(t["visibility"] == "visible" for t in data["tests"] if t not in hidden)
    (entry,) = data["leaderboard"]  # the grader's own timing of the hidden case it passed
    assert entry["name"] == "add_one on 50 values (ms)" and entry["order"] == "asc" and 0 < entry["value"] < 60_000
    assert data["execution_time"] >= 2.0  # the whole run, TensorFlow's warm-up included, not the sandbox's share


def test_a_blank_submission_scores_zero_and_says_why(bundle, tmp_path):
    data = grade_in_autograder_folder(bundle, tmp_path / "autograder",
                                      notebook(SETUP, strip_solutions(ADD_ONE), strip_solutions(SCALED_SUM)))
    assert data["score"] == 0 and "not implemented yet" in data["tests"][0]["output"]
    hidden = [t for t in data["tests"] if "hidden case" in t["name"]]
    assert hidden and all(t["status"] == "failed" and t["output"] == "" for t in hidden)  # pass/fail only
    assert "leaderboard" not in data, "a failed case earns no leaderboard entry"


def test_no_notebook_gives_a_clear_zero(bundle, tmp_path):
    data = grade_in_autograder_folder(bundle, tmp_path / "autograder", None)
    assert data["score"] == 0 and data["tests"] == [] and "No notebook" in data["output"]
