"""Locating graded cells and generating the student copy."""

import json

import nbformat
import pytest

from autograder.authoring.student import strip_solutions, student_notebook
from autograder.grading.locate import NotebookError, locate, parse_notebook, read_notebook


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
    assert len(student.cells) == 2  # the Colab set-up cell, added first, and the graded cell
    assert student.cells[0].source.startswith("# COLAB SETUP")
    assert student.cells[1].metadata["autograder"] == {"exercise": "f"}
    assert "return 1" not in student.cells[1].source


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


NB3 = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {},
    "worksheets": [
        {
            "cells": [
                {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Week 1"},
                {
                    "cell_type": "code",
                    "input": "# GRADED: add_one\ndef add_one(x): ...",
                    "language": "python",
                    "outputs": [],
                },
            ]
        }
    ],
}


def test_notebook_with_byte_order_mark_reads(tmp_path):
    nb = make_nb(("code", "# GRADED: f\ndef f(): pass"))
    path = tmp_path / "bom.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + nbformat.writes(nb).encode("utf-8"))
    found = locate(read_notebook(path), ["f"])
    assert found.cells["f"] == "# GRADED: f\ndef f(): pass" and not found.missing
    # the same text already decoded, as an editor might hand it over
    assert locate(parse_notebook("\ufeff" + nbformat.writes(nb)), ["f"]).cells["f"].startswith("# GRADED: f")


def test_nbformat3_notebook_is_upgraded(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(NB3))
    nb = read_notebook(path)
    assert nb.nbformat == 4
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    found = locate(nb, ["add_one"])
    assert found.cells["add_one"] == "# GRADED: add_one\ndef add_one(x): ..." and not found.missing


def test_nbformat3_notebook_with_split_lines_and_no_outputs_is_upgraded():
    data = json.loads(json.dumps(NB3))
    code = data["worksheets"][0]["cells"][1]
    code["input"] = ["# GRADED: add_one\n", "def add_one(x):\n", "    return x + 1"]
    del code["outputs"]
    found = locate(parse_notebook(json.dumps(data)), ["add_one"])
    assert found.cells["add_one"] == "# GRADED: add_one\ndef add_one(x):\n    return x + 1"


def test_too_large_notebook_is_refused_unread(tmp_path, monkeypatch):
    import autograder.grading.locate as notebook_module

    monkeypatch.setattr(notebook_module, "MAX_NOTEBOOK_BYTES", 1000)
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {"blob": "x" * 5000}}))
    with pytest.raises(NotebookError, match="over the .* limit"):
        read_notebook(path)
    with pytest.raises(NotebookError, match="over the .* limit"):
        parse_notebook(path.read_text())


def test_limit_is_checked_before_reading(tmp_path, monkeypatch):
    import autograder.grading.locate as notebook_module

    path = tmp_path / "sparse.ipynb"
    with path.open("wb") as handle:  # a sparse file: huge on paper, nothing on disk
        handle.truncate(notebook_module.MAX_NOTEBOOK_BYTES + 1)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened for reading")

    monkeypatch.setattr(notebook_module.os, "fdopen", no_reading)
    with pytest.raises(NotebookError, match="MB limit"):
        read_notebook(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"cells": [], "metadata": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001, "nested too deeply"),
        ('{"nbformat": 3, "worksheets": 5}', "nbformat 3 notebook without a readable list"),
        ('{"nbformat": 3, "worksheets": [{"cells": [7]}]}', "not a notebook cell"),
        ('{"nbformat": 0, "cells": []}', "cannot be read"),
        ('{"cells": [{"cell_type": "code", "source": 5}]}', "source that is not text"),
        ('"just a string"', "not a Jupyter notebook"),
        ("", "not valid JSON"),
    ],
)
def test_absurd_notebooks_get_clear_errors(content, message):
    with pytest.raises(NotebookError, match=message):
        parse_notebook(content)


def test_not_a_notebook_files_get_clear_errors(tmp_path):
    essay = tmp_path / "essay.ipynb"
    essay.write_text("My answers are in the PDF.")
    with pytest.raises(NotebookError, match="not valid JSON"):
        read_notebook(essay)
    with pytest.raises(NotebookError, match="cannot read"):
        read_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(NotebookError, match="not a regular file"):
        read_notebook(tmp_path)
    png = tmp_path / "photo.ipynb"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    with pytest.raises(NotebookError, match="not a text file"):
        read_notebook(png)
