"""Turning a sandbox run into scored results: compare each case with the reference."""

from __future__ import annotations

from typing import Any

from autograder.compare import compare
from autograder.plain import from_plain
from autograder.results import CaseResult, ExerciseResult
from autograder.run.protocol import CallResult, ErrorInfo, StepResult
from autograder.spec import Case, Exercise

STATUS_MESSAGES = {
    "timeout": "the submission was stopped at the time limit (an infinite loop, or far too slow)",
    "memory": "the submission was stopped for using too much memory",
    "cpu": "the submission was stopped at the CPU-time limit",
    "exited": "the submission ended the grading process early (sys.exit / os._exit / quit?)",
    "crashed": "the submission's process crashed",
    "protocol": "the submission's process broke the grader's protocol (its results were not used)",
}


def explain_error(error: ErrorInfo, exercise: str) -> str:
    """A student-facing sentence for an error raised while running a case."""
    if error.timed_out or error.type == "StepTimeLimit":
        if error.message.startswith("not run"):
            return "not run: an earlier check of this exercise ran out of time"
        return f"`{exercise}` ran past its time limit ({error.message}): an infinite loop, or far too slow"
    if error.type == "NotImplementedError":
        return f"`{exercise}` is not implemented yet (it still raises NotImplementedError)"
    if error.type in ("ExerciseNotFound", "RuleBroken", "SymbolicFailure"):
        return error.message
    return f"raised {error.text()}"


def compare_call(case: Case, expected: dict, actual: Any) -> tuple[bool, str]:
    """Compares one call's value (and gradients) with the reference's; never raises."""
    if not isinstance(actual, dict) or not set(actual) <= {"value", "grads"}:
        return False, "the value sent back is not in the grader's format"
    try:
        exp_value, act_value = from_plain(expected.get("value")), from_plain(actual.get("value"))
    except (ValueError, TypeError, RecursionError) as exc:
        return False, f"the value sent back could not be read ({exc})"
    try:
        mismatch = compare(exp_value, act_value, case.rtol, case.atol)
        if mismatch is None and "grads" in expected:
            try:
                exp_grads = from_plain(expected["grads"])
                act_grads = from_plain(actual.get("grads"))
            except (ValueError, TypeError, RecursionError) as exc:
                return False, f"the gradients sent back could not be read ({exc})"
            mismatch = compare(exp_grads, act_grads, case.rtol * 10, case.atol * 10, where="gradient")
    except Exception as exc:  # noqa: BLE001 - a value the comparison cannot handle fails this case only
        return False, f"the value sent back could not be compared ({type(exc).__name__})"
    if mismatch is None:
        return True, "passed"
    text = mismatch.summary if case.hidden else mismatch.detail
    if case.hint:
        text += f"\n  hint: {case.hint}"
    return False, text


def judge_exercise(
    exercise: Exercise,
    expected: dict[str, dict],
    calls: dict[str, CallResult | None],
    cell: StepResult | None,
    run_status: str,
    note: str = "",
    missing_message: str = "",
    broken_rule: str = "",
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
        broken_rule: a rule the cell breaks on its syntax tree (costs every case).
    """
    result = ExerciseResult(exercise.name, note=note)
    headline = ""
    if missing_message:
        headline = missing_message
    elif broken_rule:
        headline = broken_rule
    elif cell is not None and not cell.ok:
        error = cell.error or ErrorInfo("UnknownError", "")
        if error.timed_out or error.type == "StepTimeLimit":
            headline = (f"your `{exercise.name}` cell ran past its time limit ({error.message}): "
                        "an infinite loop at the top level of the cell, or far too slow")
        elif error.type in ("NotRun", "JobStopped"):
            headline = f"your `{exercise.name}` cell did not finish: {error.message}"
        else:
            headline = f"your `{exercise.name}` cell failed to run: {error.text()}"
    if not headline:  # a rule broken while running costs the whole exercise, like one seen in the source
        broken = next((c.error for c in calls.values()
                       if c is not None and not c.ok and c.error is not None and c.error.type == "RuleBroken"), None)
        if broken is not None:
            headline = broken.message
    for case in exercise.cases:
        call = calls.get(case.name)
        if headline:
            passed, message = False, headline
        elif call is None:
            passed, message = False, STATUS_MESSAGES.get(run_status, "this case was never reached")
        elif not call.ok:
            passed, message = False, explain_error(call.error or ErrorInfo("UnknownError", ""), exercise.name)
        else:
            passed, message = compare_call(case, expected[case.name], call.value)
        result.cases.append(
            CaseResult(case.name, case.hidden, exercise.case_points(case) if passed else 0.0,
                       exercise.case_points(case), passed, message)
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

