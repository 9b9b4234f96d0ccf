"""Every notebook runs: solutions end to end, student copies up to the first exercise left to do.

Each solution's executed copy is kept in build/executed (keyed by the notebook, its parameters
and the `course` sources), where `make site` finds it instead of running the lesson again.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

from autograder.authoring.run_notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SHARED_DATA = ROOT.parent / "shared" / "data"


def _site_builder():
    spec = importlib.util.spec_from_file_location("course_build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline_data(monkeypatch):
    """Kernels inherit the environment: loaders read ../shared/data, never the network."""
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("COURSE_DATA_DIR", str(SHARED_DATA))


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_runs_end_to_end_with_small_parameters(solution):
    builder = _site_builder()
    run = builder.execute_and_keep(solution, small=True)  # the site's cached copy, written as we check
    assert run.error is None, f"cell {run.failed_cell} failed: {run.error}"
    assert run.headline and {"metric", "value"} <= set(run.headline), "the notebook must define HEADLINE"
    assert builder.cached_run(solution, small=True) is not None, "the executed copy was not kept for the site"


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_student_copy_runs_until_the_first_exercise_left_to_do(solution):
    run = execute(ROOT / "notebooks" / solution.name, small=True, cwd=ROOT)
    assert run.error_name == "NotImplementedError", f"cell {run.failed_cell} failed first with {run.error}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_solution_takes_a_seed_in_its_parameters_cell(solution):
    """`bench/notebooks.py --seeds N` sets SEED after the parameters cell: each lesson must read it from there."""
    import nbformat

    nb = nbformat.read(solution, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged `parameters`"
    assert any(line.split("=")[0].strip() == "SEED" for line in cells[0].source.splitlines() if "=" in line)
