"""Probes: how one case is run inside the student's process.

A probe receives the namespace the student's cells ran in and a plain call
description (`autograder.spec.call_spec`), calls the student's function and
returns plain data (`autograder.plain.to_plain`). It never compares anything:
comparison happens in the grading process, out of the student's reach.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autograder.lookup import find_function
from autograder.model_probe import probe_model
from autograder.plain import from_plain, to_plain


def _as_input(value: Any, tensors: bool) -> Any:
    """Plain data -> the argument the student's function receives."""
    return _to_argument(from_plain(value), tensors)


def _to_argument(value: Any, tensors: bool) -> Any:
    if isinstance(value, np.ndarray):
        value = np.asarray(value)  # drop the PlainArray subclass
        if tensors and value.dtype.kind in "fiub":
            import tensorflow as tf

            return tf.constant(value)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_argument(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: _to_argument(v, tensors) for k, v in value.items()}
    return value


def _weighted_sum(outputs: Any) -> Any:
    """A scalar in which every output element has its own fixed weight."""
    import tensorflow as tf

    flat = [t for t in tf.nest.flatten(outputs) if isinstance(t, (tf.Tensor, tf.Variable))]
    if not flat:
        raise TypeError("the function returned no tensor to differentiate")
    total = tf.constant(0.0, dtype=flat[0].dtype)
    for t in flat:
        weights = tf.reshape(tf.sin(tf.cast(tf.range(tf.size(t)), t.dtype) + 1.0), tf.shape(t))
        total = total + tf.reduce_sum(tf.cast(t, total.dtype) * tf.cast(weights, total.dtype))
    return total


def probe_call(namespace: dict, call: dict) -> dict:
    """Calls `function(*args, **kwargs)`; with `grad_wrt`, also the gradients.

    Returns:
        `{"value": plain output}` plus `"grads"`, a list of plain gradients
        (None where the output does not depend on that argument).
    """
    fn = find_function(namespace, call["function"])
    args = [_as_input(a, call.get("tensors", True)) for a in call.get("args", [])]
    kwargs = {k: _as_input(v, call.get("tensors", True)) for k, v in call.get("kwargs", {}).items()}
    grad_wrt = call.get("grad_wrt") or []
    if not grad_wrt:
        return {"value": to_plain(fn(*args, **kwargs))}
    import tensorflow as tf

    watched = [args[i] for i in grad_wrt]
    with tf.GradientTape() as tape:
        for t in watched:
            tape.watch(t)
        out = fn(*args, **kwargs)
        total = _weighted_sum(out)
    grads = tape.gradient(total, watched)
    return {"value": to_plain(out), "grads": [to_plain(g) for g in grads]}


PROBES: dict[str, Callable[[dict, dict], dict]] = {"call": probe_call, "model": probe_model}


def run_call(namespace: dict, call: dict) -> dict:
    """Runs one case with its probe; the sandbox's entry point."""
    probe = PROBES.get(call.get("probe", "call"))
    if probe is None:
        raise ValueError(f"Unknown probe {call.get('probe')!r}; known: {sorted(PROBES)}.")
    return probe(namespace, call)
