"""The student bundle's `make lab`: what the set-up cell and the bundle's README tell students is true there.

`autograder release` writes a `Makefile` and a student `README.md` beside the
notebooks and the course package; `make lab` installs that package (the source
copied beside it, or the wheel under `wheels/` when the course runs from an
installed wheel) into `.venv` and opens JupyterLab on `notebooks/`. Here the
plan is read with `make -n`; `tests/distribution/test_lab.py` runs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.authoring.assign import release
from autograder.authoring.colab import setup_cell

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("handout")
    release(out, ROOT / "notebooks")
    return out


def plan(bundle: Path, *args: str) -> str:
    done = subprocess.run(["make", "-n", "lab", *args], cwd=bundle, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_setup_cell_and_the_readme_send_students_to_make_lab_which_the_bundle_has(bundle):
    assert "make lab" in setup_cell()
    readme = (bundle / "README.md").read_text()
    assert "make lab" in readme and "{package}" not in readme
    assert '.venv/bin/python -m pip install ".[cpu,lab]"' in readme  # the steps without make, the same package
    assert "make demo" not in readme and "For instructors" not in readme  # the students' page, not the repository's
    assert (bundle / "Makefile").is_file()


def test_make_lab_installs_the_bundles_own_package_and_opens_its_notebooks(bundle):
    steps = plan(bundle, "PYTHON=python3")
    assert "python3 -m venv .venv" in steps
    assert '.venv/bin/python -m pip install -q  ".[cpu,lab]"' in steps
    assert (bundle / "pyproject.toml").is_file() and (bundle / "autograder" / "cli.py").is_file()
    assert "ipykernel install --sys-prefix --name keras-seq-course" in steps
    assert "-m jupyterlab --ServerApp.root_dir=notebooks" in steps
    assert "--MappingKernelManager.default_kernel_name=keras-seq-course" in steps
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} == {p.name for p in
                                                                     (bundle / "notebooks").glob("*.ipynb")}


def test_a_bundle_from_a_wheel_install_ships_the_wheel_and_make_lab_installs_it(bundle, tmp_path):
    wheels = bundle / "wheels"
    wheels.mkdir()
    (wheels / "keras_seq_course-0.1.0-py3-none-any.whl").write_bytes(b"")  # what release writes without a source
    try:
        assert '"wheels/keras_seq_course-0.1.0-py3-none-any.whl[cpu,lab]"' in plan(bundle)
    finally:
        shutil.rmtree(wheels)


def test_a_second_make_lab_only_opens_jupyterlab(bundle):
    stamp = bundle / ".venv" / ".lab-installed"
    stamp.parent.mkdir()
    stamp.touch()
    try:
        steps = plan(bundle)
        assert "pip install" not in steps and "-m jupyterlab" in steps
    finally:
        shutil.rmtree(bundle / ".venv")
