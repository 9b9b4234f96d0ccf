"""A tiny assignment in the reference format, for the grader's tests."""

import nbformat

SETUP = "# SETUP\nimport numpy as np\nimport tensorflow as tf\n"
CASES = '''# CASES
import numpy as np
from autograder.authoring.spec import Case, Exercise, Leaderboard

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
LEADERBOARD = [Leaderboard("add_one on 50 values (ms)", "add_one", "many values")]
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
