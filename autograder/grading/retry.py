"""When a job gets a second run: failures the student's code did not cause (grading process).

A job is run once more, never more, when its failure points at the machine
rather than at the submission:

- its process died of a signal that no limit of ours sends (a SIGABRT or
  SIGSEGV inside TensorFlow's start-up, say) — a submission that crashes the
  same way twice keeps its crash, and the row says it crashed twice;
- a step ran out of time in an exercise whose cell is the reference's own
  code (a busy machine, not an infinite loop).

Everything else (a wall-clock or CPU limit, memory, a broken protocol, a
wrong answer) is the submission's own result and is never rerun.
"""

from __future__ import annotations

from autograder.run import RunResult

SIGNALLED = "the process crashed ("


def _same_code(student: str, reference: str) -> bool:
    """Whether two cells hold the same code, ignoring blank lines and trailing spaces."""
    def lines(source: str) -> list[str]:
        return [line.rstrip() for line in source.splitlines() if line.strip()]

    return lines(student) == lines(reference)


def _timed_out_exercises(run: RunResult, exercise_of_call: list[str]) -> set[str]:
    """Exercises with a cell or a check stopped at its own step limit."""
    out = {name for name, cell in run.cells.items() if cell.error is not None and cell.error.timed_out}
    for exercise, call in zip(exercise_of_call, run.calls):
        if call is not None and call.error is not None and call.error.timed_out:
            out.add(exercise)
    return out


def _reference_all_the_way(name: str, cells: dict[str, str], reference_cells: dict[str, str],
                           needs: dict[str, tuple[str, ...]], seen: frozenset[str] = frozenset()) -> bool:
    """Whether an exercise's cell, and every cell it needs (and they need), is the reference's own code."""
    if name in seen:
        return True
    return (name in cells and name in reference_cells and _same_code(cells[name], reference_cells[name])
            and all(_reference_all_the_way(n, cells, reference_cells, needs, seen | {name})
                    for n in needs.get(name, ())))


def retry_reason(run: RunResult, cells: dict[str, str], reference_cells: dict[str, str],
                 exercise_of_call: list[str], needs: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """Why `run` deserves one more run, in words for the row, or None.

    Args:
        run: the job's first result.
        cells: the student's graded cells, by exercise.
        reference_cells: the reference's graded cells, by exercise.
        exercise_of_call: the exercise of each of the job's calls, in order.
        needs: the exercises each exercise calls (an exercise that calls the student's own slow code
            ran out of time because of that code, not because of the machine).
    """
    if run.status == "crashed" and run.message.startswith(SIGNALLED):
        return run.message
    slow = [name for name in sorted(_timed_out_exercises(run, exercise_of_call))
            if _reference_all_the_way(name, cells, reference_cells, needs or {})]
    if slow:
        return f"`{slow[0]}`, written as in the reference, ran out of time (a busy machine)"
    return None


def after_retry_note(first_reason: str, still: str | None) -> str:
    """What the row says after the second run: nothing when it went well."""
    if still is None:
        return ""
    return f"graded twice: the first run failed ({first_reason}) and so did the second ({still})"
