"""`autograder new <id>`: a starter reference notebook that assigns and grades full marks as written.

The notebook has every part a reference needs, in order: a title, the Colab
set-up cell, a `# SETUP` cell, a `# CASES` cell with one exercise (a public
case, a hidden case, a rule, a hint, a tolerance and a gradient), the graded
cell with its solution region, and the checker and `check(...)` cells. The
instructor edits it into the real assignment; `docs/authoring.md` explains
each part.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder.authoring.colab import DEFAULT_INSTALL, setup_cell

ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")

TITLE = """# {id}: {title}

**Goals.** Write `tanh_step`, one step of a vanilla RNN: $h_t = \\tanh(x_t W_x + h_{{t-1}} W_h + b)$.

**Run time.** Under a minute on a laptop.

Fill in each cell that starts with `# GRADED:`, then run the `check(...)` cell below it."""

SETUP = """# SETUP: imports the grader runs before the graded cells (keep it short: no data, no training)
import numpy as np
import tensorflow as tf"""

CASES = '''# CASES: the grader's cases. This cell never reaches students (`autograder assign` drops it).
from autograder.authoring.inputs import normal
from autograder.authoring.spec import Case, Exercise
from autograder.rules.static import Rules


def step_args(B, D, H):
    """Arguments of tanh_step for a batch of B inputs of size D and a state of size H."""
    return lambda rng: [normal(rng, B, D), normal(rng, B, H), normal(rng, D, H, scale=0.5),
                        normal(rng, H, H, scale=0.5), normal(rng, H, scale=0.1)]


EXERCISES = [
    Exercise(
        "tanh_step", worth=2,
        rules=Rules(forbid=("keras.layers.SimpleRNNCell",),
                    text="`tanh_step` must compute the step with matrix products, not a Keras cell"),
        cases=(
            Case("B 2, D 3, H 4", step_args(2, 3, 4), grad_wrt=("x_t", "W_h"),
                 hint="add the two matrix products and the bias, then apply tanh"),
            Case("B 5, D 2, H 3", step_args(5, 2, 3), hidden=True, rtol=1e-4, atol=1e-5),
        ),
    ),
]'''

GRADED = '''# GRADED: tanh_step
def tanh_step(x_t, h, W_x, W_h, b):
    """One vanilla RNN step.

    Args:
        x_t: (B, D) inputs at time t.
        h: (B, H) the previous hidden state.
        W_x: (D, H), W_h: (H, H), b: (H,) the weights.

    Returns:
        (B, H) the new hidden state.

    Rules: no `keras.layers.SimpleRNNCell`.
    """
    ### BEGIN SOLUTION
    return tf.tanh(tf.matmul(x_t, W_x) + tf.matmul(h, W_h) + b)  # (B, H)
    ### END SOLUTION'''

CHECKER = 'from autograder.check import checker\n\ncheck = checker({id!r})'


def starter_notebook(assignment: str, title: str = "A first exercise",
                     install: str = DEFAULT_INSTALL) -> nbformat.NotebookNode:
    """The starter reference notebook of `assignment`.

    Raises:
        ValueError: `assignment` is not a short id of letters, digits, `-` and `_`, starting with a letter.
    """
    if not ID_PATTERN.match(assignment):
        raise ValueError(f"expected an assignment id such as A8 (a letter, then letters, digits, - or _); "
                         f"got {assignment!r}")
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"assignment": assignment}
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(TITLE.format(id=assignment, title=title)),
        nbformat.v4.new_code_cell(setup_cell(install)),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(CHECKER.format(id=assignment)),
        nbformat.v4.new_code_cell(CASES),
        nbformat.v4.new_markdown_cell("## Exercise: one RNN step\n\nCompute the new hidden state from the input "
                                      "and the previous state. Rules: matrix products only, no Keras cell."),
        nbformat.v4.new_code_cell(GRADED),
        nbformat.v4.new_code_cell('check("tanh_step")'),
        nbformat.v4.new_markdown_cell("## Summary\n\nOne step of a vanilla RNN is an affine map of the input "
                                      "and the state, squashed by tanh."),
    ]
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def write_starter(solutions: Path, assignment: str, title: str = "A first exercise",
                  install: str = DEFAULT_INSTALL) -> Path:
    """Writes `solutions/<assignment>.ipynb`; returns its path.

    Raises:
        ValueError: a bad id, or the notebook already exists (it is never overwritten).
    """
    path = Path(solutions) / f"{assignment}.ipynb"
    nb = starter_notebook(assignment, title, install)
    if path.exists():
        raise ValueError(f"{path} already exists: expected a new assignment id (nothing was overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path
