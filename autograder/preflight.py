"""Checks the CLI runs on its input before anything slow starts (the sandbox's warm-up).

Each check raises `InputError` with one line saying what was expected and
what came, so a typo costs a second and a non-zero exit, not a 40-second run
that writes an empty gradebook. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path

GLOB_CHARS = set("*?[")


class InputError(ValueError):
    """An input the CLI can refuse before it starts grading."""


def _number(kind: type, text: str, low: float, inclusive: bool, what: str) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
    if value != value or value < low or (not inclusive and value == low):  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of 1 or more."""
    return int(_number(int, text, 1, True, "a whole number of 1 or more"))


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    return float(_number(float, text, 0.0, False, "a number above 0"))


def non_negative_float(text: str) -> float:
    """argparse type: a number of 0 or more."""
    return float(_number(float, text, 0.0, True, "a number of 0 or more"))


def notebook_files(arguments: list[str]) -> list[Path]:
    """The submitted notebooks named by `arguments`, globs the shell left unexpanded expanded.

    Raises:
        InputError: a glob that matched nothing, a missing file, a folder or
            a file that is not a `.ipynb` notebook.
    """
    paths: list[Path] = []
    for text in arguments:
        if not os.path.lexists(text) and GLOB_CHARS & set(text):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise InputError(f"{text!r} matched no file: expected notebooks (.ipynb) to grade")
            paths.extend(Path(p) for p in matched)
        else:
            paths.append(Path(text))
    for path in paths:
        if not os.path.lexists(path):
            raise InputError(f"{str(path)!r} does not exist: expected a submitted notebook (.ipynb)")
        if path.is_dir():
            raise InputError(f"{str(path)!r} is a folder: expected notebook files, e.g. "
                             f"'{path.as_posix().rstrip('/')}/*.ipynb'")
        if path.suffix.lower() != ".ipynb":
            raise InputError(f"{str(path)!r} is not a notebook: expected a file ending in .ipynb")
    return paths


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable_folder(path: Path, option: str = "--out") -> Path:
    """`path` if it is, or can be made, a folder this user may write into.

    Raises:
        InputError: it is a file, or its nearest existing folder is read-only.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a file: expected a folder to write the results into")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise InputError(f"{option} {str(path)!r}: {str(base)!r} is a file, so no folder can be made there")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"{option} {str(path)!r}: expected a folder you can write; {str(base)!r} is read-only")
    return path


def writable_file(path: Path, suffix: str, option: str = "--out") -> Path:
    """`path` if it ends in `suffix` and its folder exists and is writable.

    Raises:
        InputError: wrong suffix, a folder, a missing or read-only parent folder.
    """
    if path.suffix.lower() != suffix:
        raise InputError(f"{option} {str(path)!r}: expected a file name ending in {suffix}")
    if path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a folder: expected a file name ending in {suffix}")
    parent = Path(os.path.abspath(path)).parent
    if not parent.is_dir():
        raise InputError(f"{option} {str(path)!r}: the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{option} {str(path)!r}: expected a place you can write; it is read-only")
    return path


def existing_folder(path: Path, option: str, holding: str = "") -> Path:
    """`path` if it is a folder (holding a file matching `holding`, when given).

    Raises:
        InputError: missing, not a folder, or without the expected files.
    """
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise InputError(f"{option} {str(path)!r} {what}: expected a folder"
                         + (f" of {holding} files" if holding else ""))
    if holding and not any(path.glob(holding)):
        raise InputError(f"{option} {str(path)!r} has no {holding} files: expected at least one")
    return path


def readable_file(path: Path, option: str) -> Path:
    """`path` if it is a file this user may read.

    Raises:
        InputError: missing, a folder, or unreadable.
    """
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a file"
        raise InputError(f"{option} {str(path)!r} {what}: expected a readable file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{option} {str(path)!r} cannot be read: expected a readable file")
    return path


def assignment_ids(solutions: Path, ids: list[str], option: str = "--solutions") -> list[str]:
    """`ids` if each has a reference notebook `<id>.ipynb` in `solutions`.

    Raises:
        InputError: the folder is missing or empty, or an id has no reference.
    """
    existing_folder(solutions, option, "*.ipynb")
    known = sorted(p.stem for p in solutions.glob("*.ipynb"))
    missing = [i for i in ids if i not in known]
    if missing:
        raise InputError(f"no reference notebook for {', '.join(missing)} in {str(solutions)!r}: "
                         f"expected one of {', '.join(known)}")
    return ids


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`autograder grade: --jobs: expected ...`)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")
