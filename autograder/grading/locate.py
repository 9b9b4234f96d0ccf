"""Reading notebooks and finding their marked cells.

Markers are first-line comments, which survive any editor (Colab, JupyterLab,
VS Code, a text editor): `# GRADED: <exercise>` for a graded cell, `# SETUP`
for the imports the grader re-runs, `# CASES` for the test cases (reference
only). Cell metadata (`autograder.exercise`) is only a second key.
"""

from __future__ import annotations

import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

if TYPE_CHECKING:
    from autograder.authoring.spec import Assignment

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


MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
"""The largest notebook read; a larger file is refused without reading it."""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Reads a notebook, with a clear error for anything that is not one.

    Accepts UTF-8 with or without a byte-order mark, nbformat 4 notebooks
    (leniently: list sources are joined, missing metadata is defaulted) and
    older nbformat versions (upgraded to version 4).

    Args:
        path: the `.ipynb` file.

    Returns:
        The notebook, as nbformat version 4.

    Raises:
        NotebookError: missing, unreadable, not a regular file, larger than
            `MAX_NOTEBOOK_BYTES`, not UTF-8 text, invalid or absurdly nested
            JSON, or JSON that is not a notebook.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: a planted FIFO must not hang the grader; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise NotebookError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path.name} is not a regular file (expected a .ipynb notebook)")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(_too_large(path.name, info.st_size))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        raise NotebookError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_NOTEBOOK_BYTES:  # it grew while being read
        raise NotebookError(_too_large(path.name, len(raw)))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not a text file (expected a .ipynb notebook)") from None
    return parse_notebook(text, path.name)


def _too_large(name: str, size: int) -> str:
    return (
        f"{name} is {size / 2**20:.1f} MB, over the {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB limit for a notebook; "
        "clear its outputs (Edit > Clear all outputs) and submit it again"
    )


def parse_notebook(text: str, name: str = "notebook") -> nbformat.NotebookNode:
    """Parses notebook JSON text (see `read_notebook`).

    Args:
        text: the notebook's JSON; a leading byte-order mark is ignored.
        name: what to call the notebook in error messages.

    Returns:
        The notebook, as nbformat version 4.

    Raises:
        NotebookError: the text is too long, not JSON, nested too deeply, or
            not a notebook.
    """
    if len(text) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(_too_large(name, len(text)))
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "was it truncated or edited by hand?"
        ) from None
    except RecursionError:
        raise NotebookError(_too_deep(name)) from None
    try:
        return _to_notebook(data, name)
    except RecursionError:
        raise NotebookError(_too_deep(name)) from None


def _too_deep(name: str) -> str:
    return f"{name} is JSON nested too deeply to be a Jupyter notebook (expected a .ipynb file)"


def _to_notebook(data: Any, name: str) -> nbformat.NotebookNode:
    """Turns parsed JSON into a version 4 notebook, or says why it is not one."""
    if not isinstance(data, dict):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (expected an object with a list of cells)")
    version = data.get("nbformat")
    old_version = isinstance(version, int) and not isinstance(version, bool) and version < 4
    if old_version or (version is None and "worksheets" in data):
        data = _upgrade(data, name)
    if not isinstance(data.get("cells"), list):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (no list of cells)")
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"{name}: cell {i} is not a notebook cell")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(s) for s in cell["source"])
        if not isinstance(cell.get("source", ""), str):
            raise NotebookError(f"{name}: cell {i} has a source that is not text")
        cell.setdefault("source", "")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    data["nbformat"] = 4
    data.setdefault("nbformat_minor", 5)
    return nbformat.from_dict(data)


def _upgrade(data: dict, name: str) -> dict:
    """Upgrades an nbformat 1-3 notebook (cells in `worksheets`) to version 4."""
    version = data.get("nbformat", 3)
    if version not in nbformat.versions or version >= 4:
        raise NotebookError(f"{name} says it is nbformat {version!r}, which cannot be read (expected 3 or 4)")
    if version == 3:
        worksheets = data.get("worksheets")
        if not isinstance(worksheets, list) or not all(
            isinstance(ws, dict) and isinstance(ws.get("cells"), list) for ws in worksheets
        ):
            raise NotebookError(f"{name} is an nbformat 3 notebook without a readable list of worksheets and cells")
        data.setdefault("nbformat_minor", 0)
        if not isinstance(data.get("metadata"), dict):
            data["metadata"] = {}
        for ws in worksheets:
            for i, cell in enumerate(ws["cells"]):
                if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
                    raise NotebookError(f"{name}: cell {i} is not a notebook cell")
                cell.setdefault("metadata", {})
                if cell["cell_type"] == "code":
                    cell.setdefault("input", "")
                    cell.setdefault("outputs", [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = nbformat.versions[version].to_notebook_json(data, minor=data.get("nbformat_minor", 0))
            upgraded = nbformat.convert(old, 4)
    except RecursionError:
        raise
    except Exception as exc:  # nbformat raises many kinds for malformed old notebooks
        raise NotebookError(
            f"{name} is an nbformat {version} notebook that could not be upgraded to version 4 ({exc}); "
            "open and save it in a current Jupyter, or start from a fresh copy"
        ) from None
    return upgraded


@dataclass
class Located:
    """Where each graded exercise is in a submission, and what looked wrong."""

    cells: dict[str, str] = field(default_factory=dict)  # exercise -> source to run
    notes: dict[str, str] = field(default_factory=dict)  # exercise -> problem, for feedback
    missing: list[str] = field(default_factory=list)


def exercise_of_metadata(cell: Any) -> str | None:
    """The exercise a cell's metadata names, or None (metadata of any other type or shape is ignored)."""
    cell_meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = cell_meta.get("autograder", {}) if isinstance(cell_meta, dict) else {}
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


def guess_assignment(nb: nbformat.NotebookNode, known: dict[str, "Assignment"]) -> str | None:
    """The assignment a notebook belongs to: its metadata, else the most of its `# GRADED:` markers.

    Args:
        nb: the submission.
        known: the assignments, by id.

    Returns:
        The id, or None when no marker names an exercise of any of them.
    """
    meta = nb.metadata.get("autograder", {}) if isinstance(getattr(nb, "metadata", None), dict) else {}
    claimed = meta.get("assignment") if isinstance(meta, dict) else None
    if isinstance(claimed, str) and claimed in known:  # metadata is the student's: any JSON type may be there
        return claimed
    markers = {m.group(1) for c in nb.cells if (m := GRADED.match(first_line(c.source)))}
    scores = {aid: len(markers & {e.name for e in a.exercises}) for aid, a in known.items()}
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best] > 0 else None
