"""The class summary a person reads in a terminal: 80 columns, sorted, with per-exercise figures."""

from __future__ import annotations

from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
from autograder.reports.terminal import summary_table


def result(name: str, scores: dict[str, tuple[float, float]], problem: str = "", message: str = "") -> SubmissionResult:
    exercises = [ExerciseResult(ex, [CaseResult("c", False, got, top, got == top)], message if got < top else "")
                 for ex, (got, top) in scores.items()]
    return SubmissionResult(name, "A2", exercises, problem)


CLASS = [
    result("zoe", {"rnn_step": (2, 2), "rnn_forward": (3, 3), "mean_cross_entropy": (1, 2)},
           message="expected shape (4, 24, 7) " + "and a great deal more explanation " * 6),
    result("al", {"rnn_step": (2, 2), "rnn_forward": (0, 3), "mean_cross_entropy": (2, 2)}),
    result("a-student-with-a-very-long-folder-name-from-an-lms-export-2026", {"rnn_step": (0, 2),
           "rnn_forward": (0, 3), "mean_cross_entropy": (0, 2)}, problem="not a notebook"),
]


def test_fits_80_columns_and_rows_are_sorted():
    lines = summary_table(CLASS).splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    rows = [line.split()[0] for line in lines[2:5]]
    assert rows[0].startswith("a-student") and rows[1:] == ["al", "zoe"]
    assert "great deal more" not in "\n".join(lines)  # long notes stay in the feedback


def test_each_exercise_has_its_mean_and_share_of_full_marks():
    text = summary_table(CLASS)
    step = next(line for line in text.splitlines() if line.startswith("E1 rnn_step"))
    assert "1.3/2" in step and "67% (2 of 3)" in step
    forward = next(line for line in text.splitlines() if line.startswith("E2 rnn_forward"))
    assert "1/3" in forward and "33% (1 of 3)" in forward


def test_notes_are_counted_with_the_right_plural():
    assert "* 2 submissions with a note" in summary_table(CLASS)
    assert "* 1 submission with a note" in summary_table(CLASS[:2])
    assert "with a note" not in summary_table([CLASS[1]][:0] or [result("x", {"rnn_step": (2, 2)})])
