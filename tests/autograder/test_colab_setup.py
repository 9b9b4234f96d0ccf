"""The set-up cell's install source: one setting, checked, written by assign and release."""

import ast
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.student import student_notebook
from autograder.authoring.assign import release
from autograder.authoring.colab import DEFAULT_INSTALL, check_install, installed_source, is_setup_cell, setup_cell
from autograder.grading.locate import read_notebook

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("install", [
    DEFAULT_INSTALL, "keras-seq-course>=0.1", "keras-seq-course @ git+https://github.com/someone/course@v1",
    "https://example.org/wheels/keras_seq_course-0.1.0-py3-none-any.whl", "/tmp/keras_seq_course-0.1.0-py3-none-any.whl",
    "git+https://example.org/x'y.git"])
def test_the_cell_installs_exactly_the_source_given(install):
    source = setup_cell(install)
    ast.parse(source)  # a quote in a URL cannot break the cell
    assert is_setup_cell(source) and installed_source(source) == install.strip()


@pytest.mark.parametrize("install", ["", "   ", "numpy", "keras-seq-course\nimport os", "keras seq course", None])
def test_an_install_source_that_is_not_the_course_is_refused(install):
    with pytest.raises(ValueError, match="--install"):
        check_install(install)


def test_assign_writes_the_source_into_every_student_notebook_and_nothing_else():
    solution = read_notebook(ROOT / "solutions" / "A2.ipynb")
    default, custom = student_notebook(solution), student_notebook(solution, "keras-seq-course==9.9")
    setups = [c for c in custom.cells if c.cell_type == "code" and is_setup_cell(c.source)]
    assert len(setups) == 1 and installed_source(setups[0].source) == "keras-seq-course==9.9"
    differ = [(a.source, b.source) for a, b in zip(default.cells, custom.cells) if a.source != b.source]
    assert len(differ) == 1 and len(default.cells) == len(custom.cells)


def test_a_notebook_without_a_setup_cell_gets_one_before_its_first_code_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                         nbformat.v4.new_code_cell("x = 1")])
    student = student_notebook(nb, "keras-seq-course==2.0")
    assert [c.cell_type for c in student.cells] == ["markdown", "code", "code"]
    assert installed_source(student.cells[1].source) == "keras-seq-course==2.0"


def test_the_solutions_carry_the_default_source():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        setups = [c.source for c in read_notebook(path).cells if c.cell_type == "code" and is_setup_cell(c.source)]
        assert setups == [setup_cell()], path.name


def test_release_rewrites_the_source_and_keeps_it_otherwise(tmp_path):
    release(tmp_path / "same", ROOT / "notebooks")
    release(tmp_path / "mine", ROOT / "notebooks", install="keras-seq-course @ git+https://example.org/me/course")
    for name in ("A1.ipynb", "A6.ipynb"):
        same = read_notebook(tmp_path / "same" / "notebooks" / name)
        mine = read_notebook(tmp_path / "mine" / "notebooks" / name)
        assert installed_source(next(c.source for c in same.cells if is_setup_cell(c.source))) == DEFAULT_INSTALL
        assert installed_source(next(c.source for c in mine.cells if is_setup_cell(c.source))) == \
            "keras-seq-course @ git+https://example.org/me/course"
    with pytest.raises(ValueError, match="--install"):
        release(tmp_path / "bad", ROOT / "notebooks", install="requests")
    assert not (tmp_path / "bad").exists()
