"""TensorFlow's execution mode, put back after a step (student's job).

A step stopped halfway through building a graph (its time limit's `StepTimeLimit`, a `RecursionError`
raised again inside TensorFlow's own clean-up) can leave the thread in graph mode: every later call in
the job would then get symbolic tensors instead of values, and exercises the student got right would
score 0. The runner takes a `ModeSnapshot` before each call and puts it back after: the mode, the stack
of default graphs, the record of context switches (all per thread, in TensorFlow's Python) and whether
gradient tapes record. A tape left open is not undone (nothing reaches it): later gradients stay right.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModeSnapshot:
    """The calling thread's TensorFlow execution state, as before a step."""

    eager: bool
    graphs: tuple[Any, ...]
    switches: tuple[Any, ...]
    scope: str
    recording: bool = True


def _internals() -> tuple[Any, Any, Any] | None:
    """TensorFlow's context, default-graph stack and tape functions, or None when TensorFlow is not imported."""
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python import pywrap_tfe
        from tensorflow.python.eager import context
        from tensorflow.python.framework import ops

        return context.context(), ops._default_graph_stack, pywrap_tfe  # noqa: SLF001
    except Exception:  # noqa: BLE001 - a TensorFlow without these internals: nothing to put back
        return None


def snapshot() -> ModeSnapshot | None:
    """The current thread's execution state, or None when TensorFlow is not imported yet."""
    found = _internals()
    if found is None:
        return None
    ctx, graphs, tapes = found
    try:
        return ModeSnapshot(bool(ctx.executing_eagerly()), tuple(graphs.stack), tuple(ctx.context_switches.stack),
                            str(ctx.scope_name or ""), not tapes.TFE_Py_TapeSetIsStopped())
    except Exception:  # noqa: BLE001 - internals a step replaced: nothing to compare with
        return None


def _fresh() -> ModeSnapshot | None:
    """The state of a thread that never left eager mode (for a step that imported TensorFlow itself)."""
    found = _internals()
    if found is None:
        return None
    ctx = found[0]
    first = tuple(ctx.context_switches.stack[:1])
    return ModeSnapshot(True, (), first, "")


def restore(before: ModeSnapshot | None) -> bool:
    """Puts back the state `before` a step (a fresh eager state when TensorFlow was imported during it).

    Returns:
        Whether anything had to be put back (False also when TensorFlow's internals are not as expected).
    """
    try:
        return _restore(before)
    except Exception:  # noqa: BLE001 - internals that moved or a step replaced: the next call runs as it finds them
        return False


def _restore(before: ModeSnapshot | None) -> bool:
    found = _internals()
    if found is None:
        return False
    target = before or _fresh()
    if target is None or snapshot() == target:
        return False
    gc.collect()  # a graph's context left for the collector leaves it now, not in the middle of a later call
    if snapshot() == target:
        return True
    ctx, graphs, tapes = found
    graphs.stack[:] = list(target.graphs)
    ctx.context_switches.stack[:] = list(target.switches)
    ctx._thread_local_data.is_eager = target.eager  # noqa: SLF001 - what `context.graph_mode()` sets
    ctx.scope_name = target.scope
    if target.recording and tapes.TFE_Py_TapeSetIsStopped():  # a `stop_recording()` never left
        tapes.TFE_Py_TapeSetRestartOnThread()
    return True
