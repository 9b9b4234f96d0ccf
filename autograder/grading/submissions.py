"""Who each submitted file belongs to: the key of its row in the gradebook.

Without a roster, a file's key comes from where it sits under the class
folder (`root`, by default the folders' common parent):

- a flat folder of `<student>.ipynb`: the file's stem;
- a folder per student (`s001/A2.ipynb`): the folder's name (also when only
  that student's file is given, if the file is named after an assignment);
- nbgrader's `submitted/<student>/<assignment>/<file>.ipynb`: the student.

With a roster (a CSV with a `file` column, relative to the roster's folder or
absolute, and a `student` column), the roster decides. Two files never share
a key: a clash keeps the first file's key and gives the others their path.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from autograder.grading.owned import absolute

FILE_COLUMNS = ("file", "path", "notebook")
STUDENT_COLUMNS = ("student", "student_id", "id", "login")


class RosterError(ValueError):
    """The roster cannot be read or lacks the columns it needs."""


def roster_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a roster CSV (UTF-8, with or without a byte-order mark).

    Raises:
        RosterError: the file cannot be read as CSV.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None


def read_roster(path: Path) -> dict[Path, str]:
    """Resolved file path -> student key, from a roster CSV.

    Raises:
        RosterError: unreadable, or no file / student column.
    """
    rows = roster_rows(path)
    if not rows:
        return {}
    columns = {c.strip().lower(): c for c in rows[0] if c}
    file_col = next((columns[c] for c in FILE_COLUMNS if c in columns), None)
    student_col = next((columns[c] for c in STUDENT_COLUMNS if c in columns), None)
    if file_col is None or student_col is None:
        raise RosterError(f"the roster {path} needs a column named one of {FILE_COLUMNS} and one of "
                          f"{STUDENT_COLUMNS}; it has {sorted(columns)}")
    out = {}
    for row in rows:
        file, student = (row.get(file_col) or "").strip(), (row.get(student_col) or "").strip()
        if file and student:
            out[absolute(path.parent / file)] = student
    return out


def common_root(paths: list[Path]) -> Path:
    """The deepest folder that holds every path."""
    parents = [os.path.dirname(os.path.abspath(p)) for p in paths]  # links are not followed
    return Path(os.path.commonpath(parents)) if parents else Path(".")


def path_key(path: Path, root: Path, assignments: frozenset[str] = frozenset()) -> str:
    """A file's key from where it sits under `root` (see the module's docstring)."""
    path = absolute(path)  # a link is keyed by its own path, never by its target's
    try:
        parts = path.relative_to(absolute(root)).parts
    except ValueError:
        parts = (path.name,)
    if "submitted" not in parts[:-1] and layout_assignment(path) is not None:  # nbgrader's, under `root`
        whole = path.parts
        return whole[len(whole) - whole[::-1].index("submitted")]
    if len(parts) == 1 and path.stem in assignments:  # `<student>/A2.ipynb`, given alone
        return path.parent.name
    if "submitted" in parts[:-1]:
        after = parts[parts.index("submitted") + 1:]
        if len(after) > 1:
            return after[0]
    return parts[0] if len(parts) > 1 else Path(parts[-1]).stem


def printable_key(key: str) -> str:
    """`key` as every terminal, CSV and report shows it: a file name may hold any bytes, so bytes that are
    not UTF-8 and control characters become `\\xff`-style escapes (printable text is kept as it is)."""
    try:
        raw = key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = key.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def student_keys(paths: list[Path], root: Path | None = None, roster: Path | None = None,
                 assignments: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """One distinct gradebook key per submitted file, in the order of `paths`.

    Args:
        paths: the submitted files.
        root: the class folder (default: the files' common folder).
        roster: a CSV naming each file's student.
        assignments: assignment ids: a file named after one is keyed by its folder.
    """
    mapping = read_roster(roster) if roster is not None else {}
    base = root if root is not None else common_root(paths)
    keys: list[str] = []
    used: set[str] = set()
    for path in paths:
        key = printable_key(mapping.get(absolute(path)) or path_key(Path(path), base,
                                                                                 frozenset(assignments)))
        if key in used:
            try:
                key = absolute(path).relative_to(absolute(base)).with_suffix("").as_posix()
            except ValueError:
                key = Path(path).with_suffix("").as_posix()
            key = printable_key(key)
            n, candidate = 2, key
            while candidate in used:
                candidate, n = f"{key} ({n})", n + 1
            key = candidate
        used.add(key)
        keys.append(key)
    return keys


def layout_assignment(path: Path) -> str | None:
    """The assignment nbgrader's layout names for a file (`submitted/<student>/<assignment>/...`), or None."""
    parts = absolute(path).parts
    if "submitted" not in parts[:-1]:
        return None
    after = parts[len(parts) - 1 - parts[::-1].index("submitted") + 1:]
    return after[1] if len(after) > 2 else None


def layout_assignments(paths: list[Path], known: set[str]) -> str | None:
    """The one assignment every file's nbgrader folder names, if it is one of `known`; else None."""
    found = {layout_assignment(p) for p in paths}
    one = found.pop() if len(found) == 1 else None
    return one if one in known else None


def find_submission(folder: Path, assignment: str) -> Path | None:
    """The one notebook to grade in a folder (Gradescope's upload): `<assignment>.ipynb` if present,
    else the first notebook found (checkpoints skipped); None when there is none."""
    notebooks = sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if p.stem == assignment]
    return (named or notebooks or [None])[0]
