"""Known mistakes: their variants run beside the reference, and a student's output recognised as one.

Runs in the grading process (and, for public cases, in the student's kernel
through `check`, from the data `autograder assign` embedded). Each
`Mistake` of an exercise becomes a cell of the reference's own job (never a
student's): the variant's cell, its calls on every case, and after an
exercise's variants the reference's cell again, so that later exercises
call the right functions. A variant's output on a case is kept beside the
reference's expected value, under `"mistakes"`, only where it differs from the
reference's at the case's tolerances (elsewhere it could never be told
apart); a public case's entry therefore shows what a wrong function returns
on an input whose right answer the student already has.
"""

from __future__ import annotations

from typing import Any

from autograder.authoring.spec import Assignment, Case, Exercise, call_spec
from autograder.grading.compare import compare
from autograder.run.job import Cell
from autograder.run.plain import from_plain

SEPARATOR = "~"
"""Joins an exercise's name and a variant's number in the reference job (never part of an identifier)."""


def variant_name(exercise: str, index: int) -> str:
    """The job's name for variant `index` of `exercise`: `rnn_step~mistake0`."""
    return f"{exercise}{SEPARATOR}mistake{index}"


def parse_variant(name: str) -> tuple[str, int] | None:
    """`(exercise, index)` for a variant's job name, None for any other name."""
    exercise, sep, tail = name.partition(f"{SEPARATOR}mistake")
    return (exercise, int(tail)) if sep and tail.isdigit() else None


def variant_steps(assignment: Assignment) -> tuple[list[Cell], list[dict]]:
    """The cells and calls that run every exercise's mistakes, to append to the reference's job.

    Raises:
        ValueError: a mistake's change does not apply to the reference's cell.
    """
    cells: list[Cell] = []
    calls: list[dict] = []
    for ex in assignment.exercises:
        if not ex.mistakes:
            continue
        reference = assignment.cells[ex.name]
        for i, mistake in enumerate(ex.mistakes):
            name = variant_name(ex.name, i)
            try:
                cells.append(Cell(name, mistake.variant(reference)))
            except ValueError as exc:
                raise ValueError(f"{assignment.id}/{ex.name}: {exc}") from None
            for case in ex.cases:
                calls.append({**call_spec(assignment.id, ex, case), "exercise": name, "rules": None})
        cells.append(Cell(f"{ex.name}{SEPARATOR}reference", reference))  # later exercises call the right one
    return cells, calls


def _same(case: Case, one: Any, other: Any) -> bool:
    """Whether two call results agree at the case's tolerances (gradients at ten times them, as graded)."""
    if not isinstance(one, dict) or not isinstance(other, dict):
        return False
    try:
        if compare(from_plain(one.get("value")), from_plain(other.get("value")), case.rtol, case.atol) is not None:
            return False
        if "grads" in one and "grads" in other:
            return compare(from_plain(one["grads"]), from_plain(other["grads"]), case.rtol * 10, case.atol * 10) is None
        return True
    except Exception:  # noqa: BLE001 - a value that cannot be compared matches nothing
        return False


def attach(exercise: Exercise, case: Case, expected: dict, outputs: dict[int, Any]) -> dict:
    """The reference's result with the variants' outputs that differ from it, under `"mistakes"`.

    Args:
        exercise: the spec (its mistakes' sentences).
        case: the case (its tolerances).
        expected: the reference's call result on the case.
        outputs: mistake index -> that variant's call result (only those that ran without error).
    """
    kept = [{"says": exercise.mistakes[i].says, **output} for i, output in sorted(outputs.items())
            if isinstance(output, dict) and not _same(case, output, expected)]
    return {**expected, "mistakes": kept} if kept else expected


def named_mistake(case: Case, expected: dict, actual: Any) -> str:
    """The sentence of the first known mistake whose output the student's matches, or ""."""
    for entry in expected.get("mistakes") or []:
        if isinstance(entry, dict) and _same(case, {k: v for k, v in entry.items() if k != "says"}, actual):
            return str(entry.get("says", ""))
    return ""
