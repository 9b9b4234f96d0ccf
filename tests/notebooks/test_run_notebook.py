"""The whole-notebook runner: parameters (CI and a seed) set after the `parameters` cell, executed copies kept."""

from pathlib import Path

import nbformat
import pytest

from autograder.authoring.run_notebooks import execute


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("SEED = 0\nSTEPS = 10")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        'print("steps", STEPS)\nHEADLINE = {"metric": "seed", "value": SEED, "steps": STEPS}')]
    nb.metadata["course"] = {"ci_parameters": {"STEPS": 2}}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_seed_override_reaches_the_notebook_and_the_executed_copy_is_kept(tmp_path):
    path = _notebook(tmp_path / "toy.ipynb")
    run = execute(path, small=True, overrides={"SEED": 3}, keep=tmp_path / "kept" / "toy.ipynb", cwd=tmp_path)
    assert run.error is None
    assert run.headline == {"metric": "seed", "value": 3, "steps": 2}  # CI parameters and the seed, both set
    kept = nbformat.read(tmp_path / "kept" / "toy.ipynb", as_version=4)
    assert "HEADLINE" in kept.cells[-1].source, "the runner's own reporting cell is not kept"
    assert any("steps 2" in out.get("text", "") for out in kept.cells[-1].outputs)
    default = execute(path, overrides={"SEED": 5}, cwd=tmp_path)
    assert default.headline == {"metric": "seed", "value": 5, "steps": 10}  # no CI parameters without `small`
