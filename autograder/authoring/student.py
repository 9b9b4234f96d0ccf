"""Reference notebook -> assignment spec, student notebook and public cases."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from autograder.authoring.colab import DEFAULT_INSTALL, is_setup_cell, setup_cell
from autograder.authoring.public import with_public
from autograder.grading.locate import CASES, GRADED, SETUP, SOLUTION_ONLY_TAG, first_line, read_notebook
from autograder.authoring.spec import Assignment, Exercise, Leaderboard, with_positions

BEGIN = re.compile(r"^(\s*)###\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
STUB = '{indent}raise NotImplementedError("Replace this line with your code.")'


def assignment_id(nb: nbformat.NotebookNode, path: Path) -> str:
    meta = nb.metadata.get("autograder", {})
    return str(meta.get("assignment") or path.stem)


def load_assignment(path: str | Path) -> Assignment:
    """Reads a reference notebook: its `# CASES`, `# SETUP` and graded cells.

    Raises:
        ValueError: no `# CASES` cell, no `EXERCISES` in it, or an exercise
            without its `# GRADED:` cell.
    """
    path = Path(path)
    nb = read_notebook(path)
    aid = assignment_id(nb, path)
    namespace: dict = {"__name__": f"autograder_cases_{aid}"}
    setup, cells, found_cases = [], {}, False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        head = first_line(cell.source)
        if CASES.match(head):
            exec(compile(cell.source, f"{path.name}:CASES", "exec"), namespace)
            found_cases = True
        elif SETUP.match(head):
            setup.append(cell.source)
        elif match := GRADED.match(head):
            cells[match.group(1)] = cell.source
    if not found_cases:
        raise ValueError(f"{path}: expected a code cell starting with `# CASES` that defines EXERCISES.")
    exercises = namespace.get("EXERCISES")
    if not isinstance(exercises, (list, tuple)) or not all(isinstance(e, Exercise) for e in exercises):
        raise ValueError(f"{path}: the `# CASES` cell must define EXERCISES, a list of autograder.authoring.spec.Exercise.")
    for ex in exercises:
        if ex.name not in cells:
            raise ValueError(f"{path}: exercise {ex.name!r} has no cell starting with `# GRADED: {ex.name}`.")
    try:
        exercises = [with_positions(ex, cells[ex.name]) for ex in exercises]
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    board = list(namespace.get("LEADERBOARD", []))
    for entry in board:
        if not isinstance(entry, Leaderboard):
            raise ValueError(f"{path}: LEADERBOARD must be a list of autograder.authoring.spec.Leaderboard.")
        cases = {c.name for ex in exercises if ex.name == entry.exercise for c in ex.cases}
        if entry.case not in cases:
            raise ValueError(f"{path}: leaderboard {entry.name!r} measures {entry.exercise}/{entry.case}, "
                             "which is not a case of the assignment.")
    return Assignment(aid, list(exercises), setup, cells, board)


def strip_solutions(source: str) -> str:
    """Replaces each `### BEGIN SOLUTION` ... `### END SOLUTION` region with a stub.

    Raises:
        ValueError: a region is opened and never closed, or closed unopened.
    """
    out, indent = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if indent is not None:
                raise ValueError(f"line {number}: `### BEGIN SOLUTION` inside another solution region")
            indent = begin.group(1)
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(STUB.format(indent=indent))
        elif END.match(line):
            if indent is None:
                raise ValueError(f"line {number}: `### END SOLUTION` without a BEGIN")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise ValueError("a `### BEGIN SOLUTION` region is never closed")
    return "\n".join(out)


def student_notebook(nb: nbformat.NotebookNode, install: str = DEFAULT_INSTALL,
                     public: dict | None = None) -> nbformat.NotebookNode:
    """The student copy: solutions stubbed, reference-only cells dropped, outputs cleared.

    Args:
        nb: the reference notebook.
        install: what the set-up cell installs on Colab (see `autograder.authoring.colab`).
        public: the public cases (`public_cases`), carried by the checker cell
            (see `autograder.authoring.public`); None leaves that cell as it is.
    """
    student = with_install(copy.deepcopy(nb), install)
    kept = []
    for cell in student.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_ONLY_TAG in tags or (cell.cell_type == "code" and CASES.match(first_line(cell.source))):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
            match = GRADED.match(first_line(cell.source))
            if match:
                cell.metadata["autograder"] = {"exercise": match.group(1)}
        cell.pop("id", None)
        kept.append(cell)
    student.cells = kept
    if public is not None:
        with_public(student, public)
    student.nbformat, student.nbformat_minor = 4, 4  # no cell ids: stable files across editors
    return student


def with_install(nb: nbformat.NotebookNode, install: str) -> nbformat.NotebookNode:
    """`nb` with its `# COLAB SETUP` cell installing `install` (one is added first if there is none)."""
    source = setup_cell(install)
    cells = [c for c in nb.cells if c.cell_type == "code" and is_setup_cell(c.source)]
    if not cells:
        position = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(position, nbformat.v4.new_code_cell(source))
    for cell in cells:
        cell.source = source
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Writes `nb` if its text changed; returns whether the file changed."""
    text = nbformat.writes(nb)
    text += "" if text.endswith("\n") else "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def public_cases(assignment: Assignment, expected: dict) -> dict:
    """The public cases' calls and expected values, and what is hidden (counts only).

    Args:
        assignment: the assignment.
        expected: `(exercise, case) -> run_call result` for the public cases.
    """
    from autograder.authoring.spec import call_spec

    data: dict = {"assignment": assignment.id, "exercises": {}}
    for ex in assignment.exercises:
        public = [c for c in ex.cases if not c.hidden]
        hidden = [c for c in ex.cases if c.hidden]
        data["exercises"][ex.name] = {
            "needs": list(ex.needs),
            "points": ex.points,
            "hidden_cases": len(hidden),
            "hidden_points": float(sum(ex.case_points(c) for c in hidden)),
            "rules": ex.rules.to_plain() if ex.rules else None,
            "convention": ex.convention,
            "cases": [
                {
                    "name": c.name,
                    "points": ex.case_points(c),
                    "rtol": c.rtol,
                    "atol": c.atol,
                    "hint": c.hint,
                    "call": call_spec(assignment.id, ex, c),
                    "expected": expected[(ex.name, c.name)],
                }
                for c in public
            ],
        }
    return data
