"""A tiny assignment, and submissions that misbehave in every way we know."""

import os
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SETUP = "# SETUP\nimport numpy as np\nimport tensorflow as tf\n"
CASES = '''# CASES
import numpy as np
from autograder.spec import Case, Exercise

def vector(n):
    return lambda rng: [rng.normal(size=(n,)).astype("float32")]

def vector_and_k(n, k):
    return lambda rng: [rng.normal(size=(n,)).astype("float32"), k]

EXERCISES = [
    Exercise("add_one", cases=(
        Case("three values", vector(3)),
        Case("one value", vector(1)),
        Case("many values", vector(50), hidden=True, points=2),
    )),
    Exercise("scaled_sum", needs=("add_one",), cases=(
        Case("k=2", vector_and_k(4, 2.0), grad_wrt=(0,)),
        Case("k=-1", vector_and_k(7, -1.0), hidden=True, grad_wrt=(0,), hint="multiply after summing"),
    )),
]
'''
ADD_ONE = "# GRADED: add_one\ndef add_one(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
SCALED_SUM = (
    "# GRADED: scaled_sum\ndef scaled_sum(x, k):\n    ### BEGIN SOLUTION\n"
    "    return tf.reduce_sum(add_one(x) - 1) * k\n    ### END SOLUTION\n"
)


def notebook(*sources, assignment="T1"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"assignment": assignment}
    for source in sources:
        if source.startswith("MD:"):
            nb.cells.append(nbformat.v4.new_markdown_cell(source[3:]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="session")
def tiny_solutions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solutions")
    nb = notebook(SETUP, CASES, "MD:Add one to every element.", ADD_ONE, "check('add_one')", SCALED_SUM)
    nbformat.write(nb, folder / "T1.ipynb")
    return folder


@pytest.fixture(scope="session")
def sandbox():
    from autograder.sandbox import Limits, Sandbox

    with Sandbox(Limits(timeout_s=8, memory_mb=1024, cpu_s=20), workers=2) as box:
        yield box
