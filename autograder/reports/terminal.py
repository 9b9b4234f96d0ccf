"""What the grader prints in a terminal: the class's summary table and the progress bar (grading process)."""

from __future__ import annotations

import sys
from autograder.reports.results import SubmissionResult
from autograder.reports.student_text import terminal_line
from autograder.reports.writer import points_text


WIDTH = 80


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _title_line(results: list[SubmissionResult], names: dict[str, str] | None, width: int) -> str:
    from autograder.course_settings import assignment_title

    graded = sorted({r.assignment for r in results if r.assignment})
    if not names or not any(a in names for a in graded):
        return ""
    return _cut(" · ".join(terminal_line(assignment_title(a, names)) for a in graded), width)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def summary_table(results: list[SubmissionResult], width: int = WIDTH,
                  assignment_names: dict[str, str] | None = None) -> str:
    """The class's summary in `width` columns: one row per submission (sorted by name), exercises
    numbered E1, E2, ..., then each exercise's mean and share of full marks. Notes stay in the
    per-student feedback; the table only counts the submissions that have one. With `assignment_names` (the
    course settings' `[names]`), a header line first names the assignments graded (`A2: A vanilla RNN`)."""
    if not results:
        return "(no submissions)"
    header = _title_line(results, assignment_names, width)
    if header:
        return header + "\n\n" + summary_table(results, width)
    results = sorted(results, key=lambda r: r.submission)
    names = list(dict.fromkeys(ex.name for r in results for ex in r.exercises))
    cells = [[f"{points_text(ex.points)}/{points_text(ex.max_points)}" if ex else "-"
              for ex in ({e.name: e for e in r.exercises}.get(n) for n in names)] for r in results]
    totals = [f"{points_text(r.points)}/{points_text(r.max_points)}" for r in results]
    cols = [max(4, len(f"E{i + 1}"), *(len(row[i]) for row in cells)) + 1 for i in range(len(names))]
    total_w = max(6, *(len(t) for t in totals)) + 1
    room = width - sum(cols) - total_w - 3
    if room < 10:  # too many exercises for one line: the totals alone, the exercises below
        cols, cells = [], [[] for _ in results]
        room = width - total_w - 3
    key_w = min(room, max(10, *(len(terminal_line(r.submission)) for r in results)))
    header = "submission".ljust(key_w) + "".join(f"E{i + 1}".rjust(c) for i, c in enumerate(cols))
    lines = [header + "total".rjust(total_w), "-" * min(width, len(header) + total_w + 3)]
    for r, row, total in zip(results, cells, totals):
        flag = "  *" if r.problem or any(ex.points < ex.max_points and ex.message for ex in r.exercises) else ""
        lines.append(_cut(terminal_line(r.submission), key_w).ljust(key_w)
                     + "".join(c.rjust(w) for c, w in zip(row, cols)) + total.rjust(total_w) + flag)
    lines += ["", "exercise".ljust(width - 30) + "mean".rjust(12) + "full marks".rjust(18)]
    for i, name in enumerate(names):
        graded = [ex for r in results for ex in r.exercises if ex.name == name]
        if not graded:
            continue
        top = max(ex.max_points for ex in graded)
        mean = sum(ex.points for ex in graded) / len(graded)
        full = sum(ex.max_points > 0 and ex.points >= ex.max_points for ex in graded)
        share = f"{100 * full / len(graded):.0f}% ({full} of {len(graded)})"
        lines.append(_cut(f"E{i + 1} {terminal_line(name)}", width - 31).ljust(width - 30)
                     + f"{points_text(round(mean, 1))}/{points_text(top)}".rjust(12) + share.rjust(18))
    noted = sum(1 for line in lines[2:2 + len(results)] if line.endswith("*"))
    if noted:
        lines += ["", f"* {_plural(noted, 'submission')} with a note: see their feedback in the --out folder."]
    return "\n".join(_cut(line, width) for line in lines)


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
