"""An assignment's leaderboard: the extra runs of its cases, and the figure each submission posts."""

from __future__ import annotations

from typing import Any

from autograder.authoring.spec import Assignment
from autograder.reports.results import LeaderboardEntry, SubmissionResult

LEADERBOARD_RUNS = 3
"""Times a leaderboard's case runs in each job; its entry is the median (one run of a warm function
varies by a factor of two or more between runs on a shared machine)."""


def leaderboard_calls(assignment: Assignment, calls: list[dict]) -> list[dict]:
    """The extra runs of each leaderboard case, appended after the job's own calls."""
    extra = []
    for board in assignment.leaderboard:
        call = next((c for c in calls if (c.get("exercise"), c.get("case")) == (board.exercise, board.case)), None)
        if call is not None:
            extra += [call] * (LEADERBOARD_RUNS - 1)
    return extra


def leaderboard_entries(assignment: Assignment, result: SubmissionResult,
                        calls: dict[tuple[str, str], Any], repeats: list[Any]) -> list[LeaderboardEntry]:
    """What the grader measured for the assignment's leaderboard, for the cases this submission passed.

    Args:
        calls: the job's results, by (exercise, case).
        repeats: the results of `leaderboard_calls`, in their order.
    """
    passed = {(ex.name, c.name) for ex in result.exercises for c in ex.cases if c.passed}
    entries = []
    for i, board in enumerate(assignment.leaderboard):
        call = calls.get((board.exercise, board.case))
        if (board.exercise, board.case) in passed and call is not None and call.ok:
            more = repeats[i * (LEADERBOARD_RUNS - 1):(i + 1) * (LEADERBOARD_RUNS - 1)]
            times = sorted([call.seconds] + [r.seconds for r in more if r is not None and r.ok])
            entries.append(LeaderboardEntry(board.name, round(times[len(times) // 2] * 1000.0, 3), board.order))
    return entries
