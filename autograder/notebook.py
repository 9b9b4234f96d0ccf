"""Reading notebooks and finding their marked cells.

Markers are first-line comments, which survive any editor (Colab, JupyterLab,
VS Code, a text editor): `# GRADED: <exercise>` for a graded cell, `# SETUP`
for the imports the grader re-runs, `# CASES` for the test cases (reference
only). Cell metadata (`autograder.exercise`) is only a second key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

GRADED = re.compile(r"^#\s*GRADED\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
SETUP = re.compile(r"^#\s*SETUP\b")
CASES = re.compile(r"^#\s*CASES\b")
SOLUTION_ONLY_TAG = "solution-only"


class NotebookError(ValueError):
    """The file is not a readable notebook."""


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, stripped."""
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Reads a notebook, with a clear error for anything that is not one.

    Raises:
        NotebookError: missing, unreadable, invalid JSON, or not a notebook.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not a text file (expected a .ipynb notebook)") from None
    return parse_notebook(text, path.name)


def parse_notebook(text: str, name: str = "notebook") -> nbformat.NotebookNode:
    """Parses notebook JSON text (see `read_notebook`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "was it truncated or edited by hand?"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (no list of cells)")
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise NotebookError(f"{name}: cell {i} is not a notebook cell")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(s) for s in cell["source"])
        cell.setdefault("source", "")
        cell.setdefault("metadata", {})
    data.setdefault("metadata", {})
    data.setdefault("nbformat", 4)
    data.setdefault("nbformat_minor", 5)
    return nbformat.from_dict(data)


@dataclass
class Located:
    """Where each graded exercise is in a submission, and what looked wrong."""

    cells: dict[str, str] = field(default_factory=dict)  # exercise -> source to run
    notes: dict[str, str] = field(default_factory=dict)  # exercise -> problem, for feedback
    missing: list[str] = field(default_factory=list)


def exercise_of_metadata(cell: Any) -> str | None:
    meta = cell.get("metadata", {}).get("autograder", {})
    name = meta.get("exercise") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def locate(nb: nbformat.NotebookNode, exercises: list[str]) -> Located:
    """Finds each exercise's cell: by marker first, by metadata second.

    Duplicated cells: the last one counts (the one run last, top to bottom).
    A marked cell turned into markdown or raw, a renamed marker, or a cell
    found only by metadata each get a note; a missing cell is listed.
    """
    wanted = set(exercises)
    found: dict[str, list[str]] = {}
    by_metadata: dict[str, str] = {}
    not_code: dict[str, str] = {}
    unknown_markers: list[str] = []
    for cell in nb.cells:
        match = GRADED.match(first_line(cell.source))
        if match:
            name = match.group(1)
            if cell.cell_type != "code":
                not_code[name] = cell.cell_type
            elif name in wanted:
                found.setdefault(name, []).append(cell.source)
            else:
                unknown_markers.append(name)
                meta_name = exercise_of_metadata(cell)
                if meta_name in wanted:
                    by_metadata[meta_name] = cell.source
            continue
        meta_name = exercise_of_metadata(cell)
        if meta_name in wanted and cell.cell_type == "code":
            by_metadata[meta_name] = cell.source
    result = Located()
    for name in exercises:
        if name in found:
            result.cells[name] = found[name][-1]
            if len(found[name]) > 1:
                result.notes[name] = (
                    f"the notebook has {len(found[name])} cells marked `# GRADED: {name}`; the last one was graded"
                )
        elif name in by_metadata:
            result.cells[name] = by_metadata[name]
            result.notes[name] = (
                f"the first line `# GRADED: {name}` was changed or removed; the cell was found by its metadata. "
                "Keep the marker line as given."
            )
        elif name in not_code:
            result.missing.append(name)
            result.notes[name] = (
                f"the cell for `{name}` was turned into a {not_code[name]} cell, so it could not run; "
                "change it back to a code cell"
            )
        else:
            result.missing.append(name)
            hint = f" (found markers for {sorted(set(unknown_markers))} instead)" if unknown_markers else ""
            result.notes[name] = (
                f"no code cell starting with `# GRADED: {name}` was found{hint}; "
                "restore the cell from a fresh copy of the notebook"
            )
    return result
