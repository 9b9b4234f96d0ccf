"""Public cases carried inside the student notebook, so `check` needs nothing else.

`autograder assign` computes each public case's expected value from the
reference and writes them, compressed, into the student notebook's checker
cell:

```python
# @title Public cases for check() (written by `autograder assign`: run this cell, do not edit it)
from autograder.check import checker

check = checker("A2", cases="eNq...")
```

Running that cell is all `check` needs: it works in Colab (no notebook file
on disk) and with only the published package installed, and a new assignment
reaches students without a new package release. The cell holds public cases
only; of the hidden ones it holds their number and points. The cell is folded
in Jupyter (`source_hidden`) and shown as a form in Colab (`# @title`).
"""

from __future__ import annotations

import ast
import base64
import json
import zlib
from pathlib import Path

import nbformat

from autograder.authoring.colab import is_setup_cell

TITLE = "# @title Public cases for check() (written by `autograder assign`: run this cell, do not edit it)"
CELL = '{title}\nfrom autograder.check import checker\n\ncheck = checker({assignment!r}, cases="{cases}")'


def encode(data: dict) -> str:
    """`data` as one ASCII string: JSON, zlib-compressed, base64."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def decode(text: str) -> dict:
    """The inverse of `encode`.

    Raises:
        ValueError: `text` is not what `encode` writes.
    """
    try:
        data = json.loads(zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True)))
    except (ValueError, zlib.error, UnicodeEncodeError) as exc:
        raise ValueError(f"the public cases are damaged ({exc}): run `autograder assign` again") from None
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        raise ValueError("the public cases are damaged (no exercises): run `autograder assign` again")
    return data


def public_cell(data: dict) -> str:
    """The checker cell's source for the public cases `data` (from `student.public_cases`)."""
    return CELL.format(title=TITLE, assignment=data["assignment"], cases=encode(data))


def is_checker_cell(source: str) -> bool:
    """Whether a code cell defines `check` with `checker(...)`."""
    return "checker(" in source and "from autograder.check import" in source


def with_public(nb: nbformat.NotebookNode, data: dict) -> nbformat.NotebookNode:
    """`nb` with its checker cell carrying `data` (a cell is added after the set-up cell if there is none)."""
    source = public_cell(data)
    cells = [c for c in nb.cells if c.cell_type == "code" and is_checker_cell(c.source)]
    if not cells:
        setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and is_setup_cell(c.source)]
        cell = nbformat.v4.new_code_cell(source)
        cell.pop("id", None)
        nb.cells.insert(setup[0] + 1 if setup else 0, cell)
        cells = [cell]
    for cell in cells:
        cell.source = source
        cell.metadata["jupyter"] = {"source_hidden": True}
        cell.metadata["cellView"] = "form"
    return nb


def cases_in_source(source: str) -> str | None:
    """The `cases="..."` string of a checker cell, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "checker":
            for keyword in node.keywords:
                if keyword.arg == "cases" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return None


def embedded_public(nb: nbformat.NotebookNode | dict) -> dict | None:
    """The public cases a student notebook carries, or None if it carries none."""
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "code" and is_checker_cell(source):
            text = cases_in_source(source)
            if text:
                return decode(text)
    return None


def find_public(assignment: str, start: Path | None = None) -> dict | None:
    """The public cases of `assignment` from the course folder's student notebook, or None.

    Looks for `notebooks/<assignment>.ipynb` (and `<assignment>.ipynb`) in `start`
    (default: the working folder) and the folders above it: what a reference
    notebook run in the instructor's course folder finds.
    """
    folder = (start or Path.cwd()).resolve()
    for base in (folder, *folder.parents):
        for path in (base / "notebooks" / f"{assignment}.ipynb", base / f"{assignment}.ipynb"):
            if path.is_file():
                try:
                    data = embedded_public(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    continue
                if data is not None and data.get("assignment") == assignment:
                    return data
    return None
