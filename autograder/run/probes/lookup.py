"""Finding the student's function in the namespace their cells ran in (child side)."""

from __future__ import annotations

from typing import Callable


class ExerciseNotFound(LookupError):
    """The student's namespace has no callable with the exercise's name."""


def not_found_message(name: str) -> str:
    """What the grader says when a cell defines no function `name`."""
    return f"no function named `{name}` was defined: keep the name and signature given in the exercise"


def find_function(namespace: dict, name: str) -> Callable:
    """The callable `name` from `namespace`.

    Raises:
        ExerciseNotFound: nothing of that name, or not callable.
    """
    fn = namespace.get(name)
    if fn is None:
        raise ExerciseNotFound(not_found_message(name))
    if not callable(fn):
        raise ExerciseNotFound(f"`{name}` is a {type(fn).__name__}, not a function")
    return fn
