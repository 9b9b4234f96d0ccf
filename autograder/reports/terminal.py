"""What the grader prints in a terminal: the class's summary table and the progress bar (grading process)."""

from __future__ import annotations

import sys
from autograder.reports.results import SubmissionResult
from autograder.reports.student_text import terminal_line
from autograder.reports.writer import points_text


def summary_table(results: list[SubmissionResult]) -> str:
    """A fixed-width table: one row per submission, one column per exercise."""
    if not results:
        return "(no submissions)"
    names = [ex.name for ex in results[0].exercises]
    width = max(10, *(len(terminal_line(r.submission)) for r in results)) + 2
    cols = [max(len(n), 9) + 2 for n in names]
    header = "submission".ljust(width) + "".join(n.rjust(c) for n, c in zip(names, cols)) + "total".rjust(12) + "  note"
    lines = [header, "-" * len(header)]
    for r in results:
        by_name = {ex.name: ex for ex in r.exercises}
        cells = []
        for n, c in zip(names, cols):
            ex = by_name.get(n)
            cells.append((f"{points_text(ex.points)}/{points_text(ex.max_points)}" if ex else "-").rjust(c))
        total = f"{points_text(r.points)}/{points_text(r.max_points)}".rjust(12)
        note = r.problem or next((ex.message for ex in r.exercises if ex.points < ex.max_points), "")
        row = terminal_line(r.submission).ljust(width) + "".join(cells) + total
        if note:
            row += "  " + terminal_line(note, 70)
        lines.append(row)
    return "\n".join(lines)


class ProgressBar:
    """Grading progress as a `tqdm` bar: a live bar in a terminal or a notebook, sparse lines in a log.

    Called as `progress(done, total)` by `Grader.grade` and the cluster runner.
    """

    def __init__(self, label: str = "grading", stream=None) -> None:
        self.label, self.stream = label, stream if stream is not None else sys.stderr
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            tty = hasattr(self.stream, "isatty") and self.stream.isatty()
            self.bar = tqdm(total=total, desc=self.label, unit="notebook", file=self.stream, dynamic_ncols=True,
                            mininterval=0.2 if tty else 10.0, leave=True)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.bar.close()
