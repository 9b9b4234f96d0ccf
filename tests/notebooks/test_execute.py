"""Every notebook runs: solutions end to end, student copies up to the first exercise left to do."""

from pathlib import Path

import pytest

from autograder.execute import execute

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def offline_data(monkeypatch):
    """Kernels inherit the environment: loaders read ../shared/data, never the network."""
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("COURSE_DATA_DIR", str(SHARED_DATA))


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_runs_end_to_end_with_small_parameters(solution):
    run = execute(solution, small=True, cwd=ROOT)
    assert run.error is None, f"cell {run.failed_cell} failed: {run.error}"
    assert run.headline and {"metric", "value"} <= set(run.headline), "the notebook must define HEADLINE"


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_student_copy_runs_until_the_first_exercise_left_to_do(solution):
    run = execute(ROOT / "notebooks" / solution.name, small=True, cwd=ROOT)
    assert run.error_name == "NotImplementedError", f"cell {run.failed_cell} failed first with {run.error}"
