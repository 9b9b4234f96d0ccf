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
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
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
    cell_seconds: dict[int, float] = field(default_factory=dict)  # code cell index in the notebook -> seconds
    kernel_log: str = ""  # the kernel's stderr (TensorFlow's start-up lines and the like), kept out of the terminal
    cell_heads: dict[int, str] = field(default_factory=dict)  # code cell index -> its first line

    def slowest_cell(self) -> tuple[int, float, str] | None:
        """(cell index, seconds, first line) of the cell that ran longest, if any cell ran."""
        if not self.cell_seconds:
            return None
        index = max(self.cell_seconds, key=self.cell_seconds.__getitem__)
        return index, self.cell_seconds[index], self.cell_heads.get(index, "")


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
    path: Path, small: bool = False, timeout_s: int = 600, cwd: Path | None = None, kernel: str = "python3",
    overrides: dict[str, Any] | None = None, keep: Path | None = None,
) -> Execution:
    """Executes a notebook top to bottom in a fresh kernel and reports the first error.

    Args:
        path: the notebook.
        small: inject the notebook's `course.ci_parameters`.
        timeout_s: per-cell timeout.
        cwd: working directory of the kernel (default: the notebook's folder).
        kernel: the kernel's name.
        overrides: more parameters to set after the `parameters` cell (after the CI ones when `small`),
            e.g. `{"SEED": 1}` for a run with another seed.
        keep: where to write the executed notebook (with its outputs), if anywhere.

    The kernel runs with TensorFlow's C++ logging off, and its stderr (the lines
    TensorFlow and ipykernel print at start-up) goes to `Execution.kernel_log`
    rather than to the caller's terminal. Cell indices count the notebook as
    read, before parameters are injected.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.metadata.setdefault("course_index", i)
    if small or overrides:
        nb = with_parameters(nb, {**(ci_parameters(nb) if small else {}), **(overrides or {})})
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
    log = tempfile.TemporaryFile(mode="w+b")
    try:
        client.execute(stderr=log)
    except CellExecutionError as exc:
        error_name = getattr(exc, "ename", None)
        error = f"{error_name}: {getattr(exc, 'evalue', '')}"
        failed = next(
            (c.metadata.get("course_index", i) for i, c in enumerate(nb.cells)
             if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
    finally:
        if env_backup is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        else:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = env_backup
        log.seek(0)
        kernel_log = log.read().decode("utf-8", "replace")
        log.close()
    seconds = time.perf_counter() - start
    cell_seconds, heads = _cell_times(nb)
    if keep is not None:
        kept = copy.deepcopy(nb)
        kept.cells = kept.cells[:-1]  # without the cell that reports HEADLINE to us
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(kept, keep)
    return Execution(
        seconds, error, error_name, failed, _headline(nb) if error is None else None, cell_seconds, kernel_log, heads
    )


def _cell_times(nb: nbformat.NotebookNode) -> tuple[dict[int, float], dict[int, str]]:
    """Seconds each code cell of the original notebook ran (from nbclient's recorded
    timestamps), and the first line of each of those cells, by the cell's index."""
    seconds, heads = {}, {}
    for cell in nb.cells:
        index = cell.metadata.get("course_index")
        timing = cell.metadata.get("execution", {})
        began, ended = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if index is None or cell.cell_type != "code" or not (began and ended):
            continue
        seconds[index] = (_timestamp(ended) - _timestamp(began)).total_seconds()
        heads[index] = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return seconds, heads


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _headline(nb: nbformat.NotebookNode) -> dict | None:
    for output in nb.cells[-1].get("outputs", []):
        text = output.get("text", "")
        if HEADLINE_MARK in text:
            return json.loads(text.split(HEADLINE_MARK, 1)[1].strip() or "null")
    return None
