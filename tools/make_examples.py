"""Writes examples/submissions/ from the A2 notebooks: blank, partial, full, hangs.

    python tools/make_examples.py

`blank` is the student notebook as generated; `full` has the reference's
graded cells; `partial` has typical mistakes (a forgotten transpose, a mask
ignored, backpropagation that forgets the gradient from later steps, an
exercise left undone); `hangs` loops forever in one exercise.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.authoring.student import load_assignment
from autograder.grading.locate import GRADED, first_line, read_notebook

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
    "rnn_backward": '''# GRADED: rnn_backward
def rnn_backward(x, h0, hs, dhs, W_h):
    """Forgets what flows back from later steps: each step sees only its own read-out's gradient."""
    T = x.shape[1]
    dW_x, dW_h, db_h = 0.0, 0.0, 0.0
    for t in range(T):
        h_prev = h0 if t == 0 else hs[:, t - 1]  # (B, H)
        delta = dhs[:, t] * (1.0 - hs[:, t] ** 2)  # (B, H): the delta_{t+1} @ W_h^T term is missing
        dW_x += tf.transpose(x[:, t]) @ delta
        dW_h += tf.transpose(h_prev) @ delta
        db_h += tf.reduce_sum(delta, axis=0)
        if t == 0:
            dh0 = delta @ tf.transpose(W_h)
    return dW_x, dW_h, db_h, dh0
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
