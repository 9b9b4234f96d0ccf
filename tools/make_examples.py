"""Writes examples/submissions/ from the A2 notebooks: blank, partial, full, hangs.

    python tools/make_examples.py

`blank` is the student notebook as generated; `full` has the reference's
graded cells; `partial` has typical mistakes (a forgotten transpose, a mask
ignored, an exercise left undone); `hangs` loops forever in one exercise.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.assign import load_assignment
from autograder.notebook import GRADED, first_line, read_notebook

ROOT = Path(__file__).resolve().parents[1]

PARTIAL = {
    "rnn_forward": '''# GRADED: rnn_forward
def rnn_forward(x, h0, W_x, W_h, b_h):
    """Forgets to put the time axis back after the scan: returns (T, B, H)."""
    xs = tf.transpose(x, [1, 0, 2])  # (T, B, D)
    hs = tf.scan(lambda h, x_t: rnn_step(x_t, h, W_x, W_h, b_h), xs, initializer=h0)
    return hs, hs[-1]
''',
    "mean_cross_entropy": '''# GRADED: mean_cross_entropy
def mean_cross_entropy(logits, targets, mask):
    """Ignores the mask: averages over padding too."""
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)  # (B, T)
    return tf.reduce_mean(losses)
''',
}

HANGS = {
    "mean_cross_entropy": '''# GRADED: mean_cross_entropy
def mean_cross_entropy(logits, targets, mask):
    total = 0.0
    t = 0
    while t < logits.shape[1]:
        total += 0.0  # forgot to increase t
    return total
''',
}


def with_cells(student: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(student)
    for cell in nb.cells:
        match = GRADED.match(first_line(cell.source)) if cell.cell_type == "code" else None
        if match and match.group(1) in replacements:
            cell.source = replacements[match.group(1)].rstrip("\n")
    return nb


def main() -> None:
    reference = load_assignment(ROOT / "solutions" / "A2.ipynb")
    student = read_notebook(ROOT / "notebooks" / "A2.ipynb")
    full = dict(reference.cells)
    partial = {"rnn_step": reference.cells["rnn_step"], **PARTIAL}
    hangs = {"rnn_step": reference.cells["rnn_step"], "rnn_forward": reference.cells["rnn_forward"], **HANGS}
    out = ROOT / "examples" / "submissions"
    out.mkdir(parents=True, exist_ok=True)
    for name, cells in {"blank": {}, "partial": partial, "full": full, "hangs": hangs}.items():
        nbformat.write(with_cells(student, cells), out / f"{name}.ipynb")
        print(f"wrote {out / name}.ipynb")


if __name__ == "__main__":
    main()
