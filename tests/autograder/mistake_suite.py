"""Submissions that make a lesson's catalogued mistakes, and the questions every lesson's mistake tests ask.

Each submission is the reference notebook with graded cells replaced by known
mistakes' variants. An exercise that another one `needs` gets submissions of its
own (a wrong `rnn_step` would also change `rnn_forward`'s outputs); the others
share them, one mistake each, so a lesson grades in a handful of submissions.
Every message the tests see is kept in `SEEN`, for the one check that no
TensorFlow internals reach a student.
"""

from __future__ import annotations

from autograder.authoring.spec import Assignment, Exercise
from autograder.check import check
from autograder.grading.tf_errors import INTERNAL_MARKS

from lesson_submissions import kernel_with

SEEN: list[str] = []
"""Every case message and `check` report the mistake tests produced."""


def mistake_plan(lesson: str, assignment: Assignment) -> tuple[dict, dict]:
    """`(submissions, named)`: name -> (lesson, replaced cells), and (submission, exercise) -> the mistake made."""
    needed = {n for ex in assignment.exercises for n in ex.needs}
    submissions: dict[str, tuple[str, dict[str, str]]] = {}
    named: dict[tuple[str, str], tuple[Exercise, int]] = {}
    for ex in assignment.exercises:
        for i, mistake in enumerate(ex.mistakes):
            name = f"{lesson}-{ex.name}-{i}" if ex.name in needed else f"{lesson}-shared-{i}"
            submissions.setdefault(name, (lesson, {}))[1][ex.name] = mistake.variant(assignment.cells[ex.name])
            named[(name, ex.name)] = (ex, i)
    return submissions, named


def exercise_of(result, name: str):
    return next(e for e in result.exercises if e.name == name)


def assert_named_by_grader(results: dict, named: dict) -> None:
    """Every submission's mistake is named, as the first line of a failed case's message; no other is named."""
    unnamed, misnamed = [], []
    for (submission, name), (ex, i) in named.items():
        result = exercise_of(results[submission], name)
        SEEN.extend(c.message for c in result.cases)
        says = ex.mistakes[i].says
        firsts = [c.message.splitlines()[0] for c in result.cases if not c.passed]
        if says not in firsts:
            unnamed.append((submission, name, says, [c.message[:300] for c in result.cases]))
        others = {m.says for m in ex.mistakes} - {says}
        if others & set(firsts):
            misnamed.append((submission, name, firsts))
    assert not unnamed and not misnamed, (unnamed, misnamed)


def public_sentences(lesson: str, exercise: str) -> set[str]:
    """The mistakes the student notebook's public cases can tell apart for `exercise` (what `check` can name)."""
    from autograder.check import load_public

    cases = load_public(lesson)["exercises"][exercise]["cases"]
    return {m["says"] for c in cases for m in c["expected"].get("mistakes", [])}


def assert_named_by_check(lesson: str, assignment: Assignment, ex: Exercise, i: int, grader_messages: list[str]) -> None:
    """`check` in a student's kernel names mistake `i` in the grader's words where a public case can tell it.

    The grader's words: `check`'s line for a case holds a message whose first line is the sentence,
    as one of the grader's messages for the same mistake does.
    """
    variant = ex.mistakes[i].variant(assignment.cells[ex.name])
    report = check(ex.name, lesson, kernel_with(lesson, ex.name, variant), quiet=True)
    SEEN.append(str(report))
    says = ex.mistakes[i].says
    if says in public_sentences(lesson, ex.name):
        assert not report.ok and f": {says}\n" in str(report), str(report)
        assert any(m.splitlines()[0] == says for m in grader_messages), (says, grader_messages)
    else:
        assert says not in str(report), str(report)


def assert_no_internals(texts: list[str]) -> None:
    """None of `texts` shows TensorFlow's internals."""
    leaks = [t for t in texts if any(mark in t for mark in INTERNAL_MARKS)]
    assert not leaks, leaks[:3]
