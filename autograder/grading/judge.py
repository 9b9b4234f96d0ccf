"""Turning a sandbox run into scored results: compare each case with the reference (grading process).

`judge_located` is the whole judgement of one exercise of one submission: its
cell missing (or a cell it `needs`), a rule its syntax tree breaks, then each
case's comparison. `judge_exercise` is the last step alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from autograder.grading.compare import compare
from autograder.grading.mistakes import named_mistake
from autograder.grading.tf_errors import NO_TENSOR, clean, translate
from autograder.run.probes.lookup import not_found_message
from autograder.run.plain import from_plain
from autograder.reports.results import CaseResult, ExerciseResult
from autograder.rules.static import static_violations, violation_message
from autograder.run.protocol import CallResult, ErrorInfo, StepResult
from autograder.authoring.spec import Case, Exercise

if TYPE_CHECKING:
    from autograder.grading.locate import Located

STATUS_MESSAGES = {
    "timeout": "the submission was stopped at the time limit (an infinite loop, or far too slow)",
    "memory": "the submission was stopped for using too much memory",
    "cpu": "the submission was stopped at the CPU-time limit",
    "exited": "the submission ended the grading process early (sys.exit / os._exit / quit?)",
    "crashed": "the submission's process crashed",
    "protocol": "the submission's process broke the grader's protocol (its results were not used)",
}


_RULE_SUFFIX = re.compile(r" \((the code switched off the grader's observer|it called `[\w.*]+` while running|"
                          r"`[\w.*]+` was never called)\)")


def _graders_words(error: ErrorInfo, exercise: str, rule_text: str | None) -> bool:
    """Whether an error that claims to come from the grader's own code has the grader's exact words.

    These errors are raised inside the student's process, so the student's code can raise a class of
    the same name with any message; only a message of the grader's own shape is shown as the grader's.
    """
    message = error.message
    if error.type == "ExerciseNotFound":
        return message == not_found_message(exercise) or re.fullmatch(
            rf"`{re.escape(exercise)}` is a \w+, not a function", message) is not None
    if error.type == "SymbolicFailure":
        return message.startswith(f"`{exercise}` must work when the batch and time sizes are unknown until it runs")
    if error.type == "RuleBroken":
        suffix = _RULE_SUFFIX.search(message)
        return suffix is not None and suffix.end() == len(message) and (
            rule_text is None or message[:suffix.start()] == rule_text)
    return False


_FRAME = re.compile(r'^  File "[^"\n]*", line \d+, in ([A-Za-z_]\w*)$', re.MULTILINE)


def raised_in(traceback: str) -> str:
    """The function of the student's code an error was raised in, from its traceback (frames of the
    student's cells only, formatted as `traceback.format_list` does); "" when none is named."""
    names = _FRAME.findall(traceback or "")
    name = names[-1] if names else ""
    return name[len("tf__"):] if name.startswith("tf__") else name  # AutoGraph's conversion of `name`


def explain_error(error: ErrorInfo, exercise: str, rule_text: str | None = None, convention: str = "") -> str:
    """A student-facing sentence for an error raised while running a case (never TensorFlow's internals).

    Args:
        error: what the student's process reported.
        exercise: the exercise's name.
        rule_text: the exercise's rule in words (`Rules.describe`), to recognise the grader's own report.
        convention: the exercise's shapes in one phrase, quoted with a shape error.
    """
    if error.timed_out or error.type == "StepTimeLimit":
        if error.message.startswith("not run"):
            return "not run: an earlier check of this exercise ran out of time"
        return f"`{exercise}` ran past its time limit ({error.message}): an infinite loop, or far too slow"
    if error.type == "NotImplementedError" and "symbolic" in error.message and "numpy" in error.message.lower():
        return (f"`{exercise}` turns a tensor into NumPy (np.* or .numpy()) inside a TensorFlow graph, where its "
                "values do not exist yet: use TensorFlow ops (`@`, tf.tanh, tf.reduce_sum, ...) throughout")
    if error.type == "NotImplementedError":
        callee = raised_in(error.traceback)
        if callee and callee != exercise:  # another exercise's stub, reached through the student's own call
            return (f"`{exercise}` calls your `{callee}`, which is not implemented yet (it still raises "
                    f"NotImplementedError): write `{callee}` first")
        return f"`{exercise}` is not implemented yet (it still raises NotImplementedError)"
    if error.type in ("ExerciseNotFound", "RuleBroken", "SymbolicFailure") and _graders_words(error, exercise, rule_text):
        return clean(error.message)
    if error.type == "TypeError" and error.message == NO_TENSOR:
        return (f"`{exercise}` returned NumPy values (or plain Python numbers), not a TensorFlow tensor, so no "
                "gradient can flow through it: compute with TensorFlow ops (`@`, tf.tanh, tf.reduce_sum, ...) "
                "instead of np.* or .numpy(), and return their tensor")
    translated = translate(error.type, error.message, error.line, convention)
    return translated or f"raised {error_text(error)}"


def error_text(error: ErrorInfo, convention: str = "") -> str:
    """`Type: message` and the student's traceback, TensorFlow's internals left out (a shape or dtype error in one line)."""
    translated = translate(error.type, error.message, error.line, convention)
    if translated:
        return translated
    head = f"{error.type}: {clean(error.message)}" if error.message else error.type
    return head + (f"\n{error.traceback}" if error.traceback else "")


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
    if mismatch.where.startswith("gradient") and mismatch.kind == "type" and "NoneType" in mismatch.detail:
        return False, ("a gradient is missing: your output does not depend on that input through TensorFlow ops "
                       "(a NumPy call, .numpy() or a Python float breaks the chain); keep every step a TensorFlow "
                       f"op\n  {text}")
    named = named_mistake(case, expected, actual)
    if named:
        return False, f"{named}\n  {text}"
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
            headline = f"your `{exercise.name}` cell failed to run: {error_text(error, exercise.convention)}"
    if not headline:  # a rule broken while running costs the whole exercise, like one seen in the source
        broken = next((c.error for c in calls.values()
                       if c is not None and not c.ok and c.error is not None and c.error.type == "RuleBroken"), None)
        if broken is not None:
            headline = explain_error(broken, exercise.name, exercise.rules.describe(exercise.name) if exercise.rules else None)
    for case in exercise.cases:
        call = calls.get(case.name)
        if headline:
            passed, message = False, headline
        elif call is None:
            passed, message = False, STATUS_MESSAGES.get(run_status, "this case was never reached")
        elif not call.ok:
            passed, message = False, explain_error(call.error or ErrorInfo("UnknownError", ""), exercise.name,
                                                   exercise.rules.describe(exercise.name) if exercise.rules else None,
                                                   exercise.convention)
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



def located_problems(exercise: Exercise, located: "Located", setup: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """What costs an exercise every case before any case runs: `(missing_message, broken_rule)`.

    Args:
        exercise: the spec (its `needs` and `rules`).
        located: where the submission's graded cells are (`autograder.grading.locate.locate`).
        setup: the assignment's set-up code (names it defines are not the student's calls).

    Returns:
        Why the cell, or a cell it needs, is missing ("" if neither), and the
        rule its syntax tree breaks ("" if none).
    """
    missing = located.notes[exercise.name] if exercise.name in located.missing else ""
    lacking = [n for n in exercise.needs if n in located.missing]
    if not missing and lacking:
        missing = f"`{exercise.name}` needs `{'`, `'.join(lacking)}`, which is missing from the notebook"
    broken = ""
    if exercise.rules and exercise.name in located.cells:
        violations = static_violations(located.cells[exercise.name], exercise.name, exercise.rules, setup)
        if violations:
            broken = violation_message(exercise.name, exercise.rules, violations)
    return missing, broken


def judge_located(
    exercise: Exercise,
    located: "Located",
    setup: list[str] | tuple[str, ...],
    expected: dict[str, dict],
    calls: dict[str, CallResult | None],
    cell: StepResult | None,
    run_status: str,
) -> ExerciseResult:
    """Scores one exercise of a located submission: its missing cells and rules, then its cases.

    Args:
        exercise, expected, calls, cell, run_status: as for `judge_exercise`.
        located, setup: as for `located_problems`.
    """
    missing, broken = located_problems(exercise, located, setup)
    return judge_exercise(exercise, expected, calls, cell, run_status,
                          note="" if exercise.name in located.missing else located.notes.get(exercise.name, ""),
                          missing_message=missing, broken_rule=broken)
