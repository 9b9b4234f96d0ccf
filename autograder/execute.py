"""Running whole notebooks (CI and benchmarks), with small parameters when asked.

A notebook's parameters cell is tagged `parameters`; small values for CI are
kept in the notebook's metadata, `course.ci_parameters`, and injected in a
cell right after it (as papermill does). A notebook reports its headline
metric by defining `HEADLINE = {"metric": ..., "value": ..., "target": ...}`.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

HEADLINE_MARK = "__HEADLINE__"


@dataclass
class Execution:
    """What running a notebook gave."""

    seconds: float
    error: str | None  # "ExceptionName: message" of the first failing cell, if any
    error_name: str | None
    failed_cell: int | None
    headline: dict | None


def with_parameters(nb: nbformat.NotebookNode, overrides: dict[str, Any]) -> nbformat.NotebookNode:
    """A copy of `nb` with a cell setting `overrides` right after the `parameters` cell.

    Raises:
        ValueError: overrides were given but no cell is tagged `parameters`.
    """
    nb = copy.deepcopy(nb)
    if not overrides:
        return nb
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.metadata.get("tags", []):
            source = "# injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell(source))
            return nb
    raise ValueError("the notebook has no cell tagged `parameters` to override")


def ci_parameters(nb: nbformat.NotebookNode) -> dict[str, Any]:
    return dict(nb.metadata.get("course", {}).get("ci_parameters", {}))


def execute(
    path: Path, small: bool = False, timeout_s: int = 600, cwd: Path | None = None, kernel: str = "python3"
) -> Execution:
    """Executes a notebook top to bottom in a fresh kernel and reports the first error.

    Args:
        path: the notebook.
        small: inject the notebook's `course.ci_parameters`.
        timeout_s: per-cell timeout.
        cwd: working directory of the kernel (default: the notebook's folder).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    if small:
        nb = with_parameters(nb, ci_parameters(nb))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import json as _json\n"
            f"print({HEADLINE_MARK!r}, _json.dumps(globals().get('HEADLINE'), default=float))"
        )
    )
    env_backup = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    client = NotebookClient(
        nb, timeout=timeout_s, kernel_name=kernel, resources={"metadata": {"path": str(cwd or path.parent)}}
    )
    start = time.perf_counter()
    error = error_name = None
    failed = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error_name = getattr(exc, "ename", None)
        error = f"{error_name}: {getattr(exc, 'evalue', '')}"
        failed = next(
            (i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
    finally:
        if env_backup is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        else:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = env_backup
    seconds = time.perf_counter() - start
    return Execution(seconds, error, error_name, failed, _headline(nb) if error is None else None)


def _headline(nb: nbformat.NotebookNode) -> dict | None:
    for output in nb.cells[-1].get("outputs", []):
        text = output.get("text", "")
        if HEADLINE_MARK in text:
            return json.loads(text.split(HEADLINE_MARK, 1)[1].strip() or "null")
    return None
