"""Plays Colab: a fresh environment that already has the full `tensorflow`, a stand-in
`google.colab`, and each student notebook's set-up cell installing the course from the
wheel built here. TensorFlow must stay as it was; the notebook then runs up to its first
exercise, and `check(...)` answers there, for the stub and for the reference code.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.run_notebooks import ci_parameters, with_parameters
from autograder.grading.locate import GRADED, first_line

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TF_VERSION = importlib.metadata.version("tensorflow-cpu")
KERNEL = "colab-sim"
COLAB_ALREADY_HAS = [f"tensorflow=={TF_VERSION}", "ipykernel", "matplotlib", "tensorflow-datasets"]

pytestmark = pytest.mark.slow


class Colab:
    """A fresh venv laid out like a Colab runtime, and the kernel spec that runs in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.python = folder / "venv" / "bin" / "python"
        self.content = folder / "content"  # Colab's working directory
        self.jupyter = folder / "jupyter"

    def create(self) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(self.folder / "venv")], check=True)
        self.pip("install", "-q", *COLAB_ALREADY_HAS)
        standin = self.folder / "standin" / "google" / "colab"  # no google/__init__.py: `google` stays a namespace
        standin.mkdir(parents=True)
        (standin / "__init__.py").write_text('"""Stand-in for Colab\'s own module: its presence is what is tested."""\n')
        self.content.mkdir()
        spec = self.jupyter / "kernels" / KERNEL
        spec.mkdir(parents=True)
        env = {"PYTHONPATH": str(standin.parents[1]), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONNOUSERSITE": "1"}
        if SHARED_DATA.is_dir():
            env["COURSE_DATA_DIR"] = str(SHARED_DATA)  # CI has no network for the data; Colab downloads it
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Colab (simulated)", "language": "python", "env": env}))

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.python), "-m", "pip", *args], capture_output=True, text=True, timeout=900,
                              cwd=self.folder)
        assert done.returncode == 0, f"pip {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def uninstall_course(self) -> None:
        subprocess.run([str(self.python), "-m", "pip", "uninstall", "-q", "-y", "keras-seq-course"],
                       capture_output=True, cwd=self.folder)

    def distributions(self) -> dict[str, tuple[str, float]]:
        """Installed distribution -> (version, the modification time of its RECORD)."""
        code = ("import importlib.metadata as m, json, os\n"
                "print(json.dumps({d.metadata['Name'].lower(): (d.version, os.stat(d._path / 'RECORD').st_mtime_ns"
                " if (d._path / 'RECORD').exists() else 0) for d in m.distributions()}))")
        done = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True, check=True,
                              cwd=self.folder)  # not the checkout, whose egg-info would count as installed
        return {name: tuple(v) for name, v in json.loads(done.stdout).items()}

    def run(self, nb: nbformat.NotebookNode, monkeypatch) -> nbformat.NotebookNode:
        from nbclient import NotebookClient

        monkeypatch.setenv("JUPYTER_PATH", str(self.jupyter))
        client = NotebookClient(nb, timeout=600, kernel_name=KERNEL, allow_errors=True,
                                resources={"metadata": {"path": str(self.content)}})
        client.execute()
        return nb


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> Colab:
    sim = Colab(tmp_path_factory.mktemp("colab"))
    sim.create()
    return sim


@pytest.fixture(scope="module")
def released(built, tmp_path_factory) -> Path:
    """The student bundle, released with the set-up cells pointed at the built wheel."""
    out = tmp_path_factory.mktemp("release")
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "release", str(out), "--install",
                           str(built["wheel"])], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out / "notebooks"


def text_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def up_to_first_check(student: nbformat.NotebookNode, reference: Path) -> tuple[nbformat.NotebookNode, str]:
    """The student notebook cut after the first exercise's `check`, then the reference
    code for that exercise and the same check again. Colab imports google.colab first."""
    nb = with_parameters(student, ci_parameters(student))
    cells, exercise = [nbformat.v4.new_code_cell("import google.colab")], None
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        if match := GRADED.match(first_line(cell.source)):
            exercise = match.group(1)
        elif exercise and "check(" in cell.source:
            break
    assert exercise, "the notebook has no graded exercise"
    solution = nbformat.read(reference, as_version=4)
    reference_cell = next(c for c in solution.cells if c.cell_type == "code"
                          and (m := GRADED.match(first_line(c.source))) and m.group(1) == exercise)
    where = "import autograder, course\nprint('FROM', autograder.__file__, course.__file__)"
    nb.cells = cells + [nbformat.v4.new_code_cell(reference_cell.source), nbformat.v4.new_code_cell(
        f"check({exercise!r})"), nbformat.v4.new_code_cell(where)]
    return nb, exercise


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_student_notebook_installs_itself_on_colab_and_runs_to_its_first_exercise(
        notebook, colab, released, monkeypatch):
    colab.uninstall_course()  # each notebook gets a Colab runtime of its own
    before = colab.distributions()
    assert "keras-seq-course" not in before and before["tensorflow"][0] == TF_VERSION
    nb, exercise = up_to_first_check(nbformat.read(released / notebook.name, as_version=4),
                                     ROOT / "solutions" / notebook.name)
    colab.run(nb, monkeypatch)
    outputs = [text_of(c) for c in nb.cells if c.cell_type == "code"]
    errors = [(i, o) for i, (c, o) in enumerate(zip(nb.cells, outputs)) if "Error" in o and any(
        x.get("output_type") == "error" for x in c.get("outputs", []))]
    assert not errors, f"cells failed on the simulated Colab: {errors}"
    setup = outputs[1]
    assert "Installing" in setup and f"TensorFlow {TF_VERSION}" in setup, setup
    stub_check, reference_check, where = outputs[-4], outputs[-2], outputs[-1]
    assert f"{exercise}: 0/" in stub_check and "not implemented yet" in stub_check, stub_check
    assert f"✅ {exercise}" in reference_check and "passed" in reference_check, reference_check
    site = str(colab.folder / "venv")
    assert where.count(site) == 2, f"the course must come from the installed wheel, not the checkout: {where}"

    after = colab.distributions()
    assert after["tensorflow"] == before["tensorflow"], "the install touched Colab's TensorFlow"
    assert not {"tensorflow-cpu", "tensorflow-intel", "tf-nightly"} & set(after), "a second TensorFlow came in"
    assert after["keras"] == before["keras"], "the install replaced Colab's Keras"


def test_a_failed_install_stops_the_notebook_with_what_to_do(colab, released, monkeypatch):
    colab.uninstall_course()
    student = nbformat.read(released / NOTEBOOKS[0].name, as_version=4)
    setup = next(c for c in student.cells if c.cell_type == "code" and c.source.startswith("# COLAB SETUP"))
    broken = setup.source.replace(setup.source.split("COURSE_PACKAGE = ", 1)[1].split("  #", 1)[0],
                                  repr(str(colab.folder / "no-such-wheel" / "keras_seq_course-9.9-py3-none-any.whl")))
    assert broken != setup.source
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import google.colab"),
                                         nbformat.v4.new_code_cell(broken),
                                         nbformat.v4.new_code_cell("print('went on')")])
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError) as failure:
        from nbclient import NotebookClient

        monkeypatch.setenv("JUPYTER_PATH", str(colab.jupyter))
        NotebookClient(nb, timeout=300, kernel_name=KERNEL, resources={"metadata": {"path": str(colab.content)}}
                       ).execute()
    assert failure.value.ename == "RuntimeError"
    assert "Installing the course package" in failure.value.evalue and "run this cell again" in failure.value.evalue
    assert "went on" not in text_of(nb.cells[2])


def test_outside_colab_a_kernel_without_the_course_says_how_to_get_it(colab, released, monkeypatch):
    colab.uninstall_course()
    student = nbformat.read(released / NOTEBOOKS[0].name, as_version=4)
    setup = next(c for c in student.cells if c.cell_type == "code" and c.source.startswith("# COLAB SETUP"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup.source)])
    colab.run(nb, monkeypatch)
    assert "RuntimeError" in text_of(nb.cells[0]) and "make lab" in text_of(nb.cells[0])
    assert "keras-seq-course" not in colab.distributions(), "nothing is installed outside Colab"
