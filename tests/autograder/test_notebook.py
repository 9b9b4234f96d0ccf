"""Locating graded cells and generating the student copy."""

import json

import nbformat
import pytest

from autograder.assign import strip_solutions, student_notebook
from autograder.notebook import NotebookError, locate, parse_notebook, read_notebook


def make_nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        maker = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(maker(source))
    return nb


def test_strip_solutions_keeps_signature_and_indentation():
    source = "# GRADED: f\ndef f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    out = strip_solutions(source)
    assert "return x + 1" not in out
    assert '    raise NotImplementedError("Replace this line with your code.")' in out
    assert out.startswith("# GRADED: f\ndef f(x):")
    ns = {}
    exec(out, ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


def test_unclosed_region_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        strip_solutions("### BEGIN SOLUTION\nx = 1\n")


def test_student_notebook_drops_cases_and_solution_only_cells():
    nb = make_nb(("code", "# CASES\nEXERCISES = []"), ("code", "# GRADED: f\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"))
    nb.cells.append(nbformat.v4.new_markdown_cell("the answer", metadata={"tags": ["solution-only"]}))
    student = student_notebook(nb)
    assert len(student.cells) == 1
    assert student.cells[0].metadata["autograder"] == {"exercise": "f"}
    assert "return 1" not in student.cells[0].source


def test_locate_handles_duplicates_reorders_and_markdown():
    nb = make_nb(
        ("code", "# GRADED: b\ndef b(): return 1"),
        ("code", "# GRADED: a\ndef a(): return 1"),
        ("code", "# GRADED: a\ndef a(): return 2"),
        ("markdown", "# GRADED: c\ndef c(): pass"),
    )
    found = locate(nb, ["a", "b", "c", "d"])
    assert found.cells["a"].endswith("return 2") and "2 cells" in found.notes["a"]
    assert "b" in found.cells
    assert "markdown" in found.notes["c"] and "c" in found.missing
    assert "d" in found.missing and "no code cell" in found.notes["d"]


def test_locate_falls_back_to_metadata_when_marker_renamed():
    nb = make_nb(("code", "# GRADED: my_f\ndef f(): pass"))
    nb.cells[0].metadata["autograder"] = {"exercise": "f"}
    found = locate(nb, ["f"])
    assert "def f" in found.cells["f"] and "metadata" in found.notes["f"]
    # stripped metadata and a wrong marker: missing, and the note says what was found instead
    nb.cells[0].metadata = {}
    found = locate(nb, ["f"])
    assert "f" in found.missing and "my_f" in found.notes["f"]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', "not valid JSON"),
        ('{"hello": 1}', "not a Jupyter notebook"),
        ('[1, 2]', "not a Jupyter notebook"),
    ],
)
def test_broken_notebooks_get_clear_errors(content, message):
    with pytest.raises(NotebookError, match=message):
        parse_notebook(content)


def test_binary_file_is_not_a_notebook(tmp_path):
    path = tmp_path / "photo.ipynb"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(NotebookError, match="not a text file"):
        read_notebook(path)


def test_notebook_without_metadata_and_list_sources_reads():
    data = {"cells": [{"cell_type": "code", "source": ["# GRADED: f\n", "def f(): pass"]}]}
    nb = parse_notebook(json.dumps(data))
    assert locate(nb, ["f"]).cells["f"] == "# GRADED: f\ndef f(): pass"
