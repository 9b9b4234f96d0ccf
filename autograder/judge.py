"""Turning a sandbox run into scored results: compare each case with the reference."""

from __future__ import annotations

from typing import Any

from autograder.compare import compare
from autograder.plain import from_plain
from autograder.results import CaseResult, ExerciseResult
from autograder.spec import Case, Exercise

STATUS_MESSAGES = {
    "timeout": "the submission was stopped at the time limit (an infinite loop, or far too slow)",
    "memory": "the submission was stopped for using too much memory",
    "cpu": "the submission was stopped at the CPU-time limit",
    "exited": "the submission ended the grading process early (sys.exit / os._exit / quit?)",
    "crashed": "the submission's process crashed",
}


def _time_limit_detail(error: str) -> str:
    """'stopped after 1.2 s, ...' from a StepTimeLimit error text."""
    return error.strip().splitlines()[0].split(": ", 1)[-1]


def explain_error(error: str, exercise: str) -> str:
    """A student-facing sentence for an exception text from the sandbox."""
    head = error.strip().splitlines()[-1] if error.strip() else error
    if error.startswith("StepTimeLimit"):
        if "not run" in head:
            return "not run: an earlier check of this exercise ran out of time"
        return f"`{exercise}` ran past its time limit ({_time_limit_detail(error)}): an infinite loop, or far too slow"
    if "NotImplementedError" in error:
        return f"`{exercise}` is not implemented yet (it still raises NotImplementedError)"
    if error.startswith("ExerciseNotFound") or "ExerciseNotFound" in head:
        return head.split(":", 1)[-1].strip()
    return f"raised {error.strip()}"


def compare_call(case: Case, expected: dict, actual: dict) -> tuple[bool, str]:
    """Compares one call's value (and gradients) with the reference's."""
    try:
        exp_value, act_value = from_plain(expected.get("value")), from_plain(actual.get("value"))
    except ValueError as exc:
        return False, f"the value sent back could not be read ({exc})"
    mismatch = compare(exp_value, act_value, case.rtol, case.atol)
    if mismatch is None and "grads" in expected:
        try:
            exp_grads = from_plain(expected["grads"])
            act_grads = from_plain(actual.get("grads"))
        except ValueError as exc:
            return False, f"the gradients sent back could not be read ({exc})"
        mismatch = compare(exp_grads, act_grads, case.rtol * 10, case.atol * 10, where="gradient")
    if mismatch is None:
        return True, "passed"
    text = mismatch.summary if case.hidden else mismatch.detail
    if case.hint:
        text += f"\n  hint: {case.hint}"
    return False, text


def judge_exercise(
    exercise: Exercise,
    expected: dict[str, dict],
    calls: dict[str, dict | None],
    cell: dict | None,
    run_status: str,
    note: str = "",
    missing_message: str = "",
) -> ExerciseResult:
    """Scores one exercise.

    Args:
        exercise: the spec.
        expected: case name -> the reference's run_call result.
        calls: case name -> the sandbox's call result (None: never reached).
        cell: the sandbox's result for the student's cell (None: not run).
        run_status: the sandbox's status for the whole run.
        note: how the cell was located, shown with the result.
        missing_message: why the cell could not be found, if it could not.
    """
    result = ExerciseResult(exercise.name, note=note)
    headline = ""
    if missing_message:
        headline = missing_message
    elif cell is not None and not cell.get("ok", False):
        error = cell.get("error") or "unknown error"
        if error.startswith("StepTimeLimit"):
            headline = (f"your `{exercise.name}` cell ran past its time limit ({_time_limit_detail(error)}): "
                        "an infinite loop at the top level of the cell, or far too slow")
        else:
            headline = f"your `{exercise.name}` cell failed to run: {error}"
    for case in exercise.cases:
        call = calls.get(case.name)
        if headline:
            passed, message = False, headline
        elif call is None:
            passed, message = False, STATUS_MESSAGES.get(run_status, "this case was never reached")
        elif not call.get("ok"):
            passed, message = False, explain_error(call.get("error") or "", exercise.name)
        else:
            passed, message = compare_call(case, expected[case.name], call.get("value") or {})
        result.cases.append(
            CaseResult(case.name, case.hidden, case.points if passed else 0.0, case.points, passed, message)
        )
    messages = {c.message for c in result.cases if not c.passed}
    if not messages:
        result.message = "all cases passed"
    elif len(messages) == 1:
        result.message = messages.pop().splitlines()[0]
    else:
        failed = [c for c in result.cases if not c.passed]
        first = failed[0].message.splitlines()[0]
        result.message = f"{len(failed)} of {len(result.cases)} cases failed; first: {first}"
    return result


def reached(values: list[Any | None]) -> int:
    return sum(v is not None for v in values)
