"""Probes: how one case is run inside the student's process.

A probe receives the namespace the student's cells ran in and a plain call
description (`autograder.authoring.spec.call_spec`), calls the student's function and
returns plain data (`autograder.run.plain.to_plain`). It never compares anything:
comparison happens in the grading process, out of the student's reach.

A case names its probe (`Case.probe`): `"call"` or `"model"` (`BUILT_IN`), or
any other probe by import path, `"package.module:function"` (A6's are in
`autograder.run.probes.lm`). Nothing adds probes at run time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable

import numpy as np

from autograder.run.probes.lookup import find_function
from autograder.run.probes.model import probe_model
from autograder.run.plain import from_plain, to_plain


def as_argument(value: Any, tensors: bool) -> Any:
    """Plain data -> the argument the student's function receives (arrays as bare numpy arrays,
    or as tensors when `tensors`); probes of a lesson's own use it too."""
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


class SymbolicFailure(Exception):
    """The function failed when sizes were unknown until run time (under `tf.function`)."""


def symbolic(fn: Callable, args: list, hidden: list, name: str) -> Callable:
    """`fn` traced by `tf.function` with the given axes of each tensor argument unknown.

    Args:
        fn: the student's function.
        args: the case's positional arguments (tensors become the signature).
        hidden: per positional argument, the axes whose size is None in the signature.
        name: the function's name, for the message.
    """
    import tensorflow as tf

    tensor_at = [i for i, a in enumerate(args) if isinstance(a, tf.Tensor)]
    specs = []
    for i in tensor_at:
        axes = set(hidden[i]) if i < len(hidden) else set()
        shape = [None if d in axes else s for d, s in enumerate(args[i].shape)]
        specs.append(tf.TensorSpec(shape, args[i].dtype))
    shown = ", ".join(f"{tuple(s.shape)}" for s in specs)

    def with_fixed(*tensors: Any, **kwargs: Any) -> Any:
        full = list(args)
        for i, t in zip(tensor_at, tensors):
            full[i] = t
        return fn(*full, **kwargs)

    traced = tf.function(with_fixed, input_signature=specs, autograph=False)

    def run(*call_args: Any, **kwargs: Any) -> Any:
        try:
            return traced(*[call_args[i] for i in tensor_at], **kwargs)
        except NotImplementedError:
            raise  # a stub is not implemented, whatever the sizes
        except Exception as exc:  # noqa: BLE001 - reported with what it means
            raise SymbolicFailure(
                f"`{name}` must work when the batch and time sizes are unknown until it runs (it ran inside "
                f"tf.function with inputs of shapes {shown}, None = unknown), but raised "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None

    return run


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
    args = [as_argument(a, call.get("tensors", True)) for a in call.get("args", [])]
    kwargs = {k: as_argument(v, call.get("tensors", True)) for k, v in call.get("kwargs", {}).items()}
    if call.get("symbolic"):
        fn = symbolic(fn, args, call["symbolic"], call["function"])
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


BUILT_IN: Mapping[str, Callable[[dict, dict], dict]] = MappingProxyType({"call": probe_call, "model": probe_model})
"""The probes a case may name by a short name; any other is named by import path (read-only)."""


def resolve_probe(name: str) -> Callable[[dict, dict], dict]:
    """The probe a case names: a built-in short name, or `"package.module:function"`.

    Raises:
        ValueError: neither a built-in name nor an importable `module:function`.
    """
    if name in BUILT_IN:
        return BUILT_IN[name]
    module, sep, attr = name.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"Unknown probe {name!r}: expected one of {sorted(BUILT_IN)} or 'package.module:function'.")
    try:
        probe = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"The probe {name!r} could not be loaded: {exc}.") from None
    if not callable(probe):
        raise ValueError(f"The probe {name!r} is a {type(probe).__name__}, not a function.")
    return probe


def run_call(namespace: dict, call: dict) -> dict:
    """Runs one case with its probe; the sandbox's entry point."""
    return resolve_probe(str(call.get("probe") or "call"))(namespace, call)
