"""Running a whole notebook: per-cell seconds, the slowest cell, the kernel's stderr kept out of the terminal."""

from pathlib import Path

import nbformat

from autograder.authoring.run_notebooks import execute


def notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("N = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os, time\nos.write(2, b'native start-up noise\\n')\ntime.sleep(0.05 * N)"),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("# the long one\ntime.sleep(0.2 * N)\nHEADLINE = {'metric': 'm', 'value': N, 'met': True}"),
    ]
    nb.metadata["course"] = {"ci_parameters": {"N": 1}}
    path = tmp_path / "timed.ipynb"
    nbformat.write(nb, path)
    return path


def test_cell_seconds_are_keyed_by_the_notebooks_own_code_cells(tmp_path, capfd):
    run = execute(notebook(tmp_path), timeout_s=60)
    assert run.error is None, run.error
    assert set(run.cell_seconds) == {1, 2, 4}, "markdown cells and the appended headline cell are not timed"
    assert run.cell_seconds[4] >= 0.55 and run.cell_seconds[2] >= 0.1
    index, seconds, head = run.slowest_cell()
    assert (index, head) == (4, "# the long one") and seconds == run.cell_seconds[4]
    assert run.headline == {"metric": "m", "value": 3, "met": True}
    assert "native start-up noise" in run.kernel_log
    assert "native start-up noise" not in capfd.readouterr().err


def test_indices_ignore_the_injected_parameters_cell(tmp_path):
    run = execute(notebook(tmp_path), small=True, timeout_s=60)
    assert set(run.cell_seconds) == {1, 2, 4}
    assert run.slowest_cell()[0] == 4 and run.cell_seconds[4] < 0.55, "the small run uses N = 1"
    assert run.headline["value"] == 1


def test_a_failing_cell_is_named_by_its_index_in_the_notebook(tmp_path):
    path = notebook(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "raise ValueError('broken')"
    nbformat.write(nb, path)
    run = execute(path, small=True, timeout_s=60)
    assert run.error == "ValueError: broken" and run.failed_cell == 4 and run.headline is None
